// Kluis in one resource group: a Function App on the Flex Consumption plan with a user-assigned managed
// identity, the task hub's storage account, the vault's storage account, a Key Vault for Kluis's own
// secrets, Application Insights on a Log Analytics workspace, and the role assignments the identity needs
// on these resources. The roles on the protected VMs' resource groups are in protect.bicep.
// Every role is justified in docs/deploy.md; main.json is this file compiled by hand (no offline Bicep
// compiler exists here) and test/infra checks that the two agree.

targetScope = 'resourceGroup'

@description('Region of every resource (Flex Consumption must be offered there).')
param location string = resourceGroup().location

@description('Prefix of resource names: 3–11 lowercase letters and digits.')
@minLength(3)
@maxLength(11)
param appName string = 'kluis'

@description('The audience tokens for Kluis\'s own API carry (KLUIS_AUTH_AUDIENCES): its app registration\'s application id URI or client id.')
param apiAudience string

@description('Object ids (comma-separated) that are Owner of Kluis by configuration (KLUIS_OWNER_PRINCIPAL_IDS); empty: Azure RBAC only.')
param ownerPrincipalIds string = ''

@description('Storage account holding page-blob VMs\' disks (KLUIS_SOURCE_STORAGE); empty: the vault account.')
param sourceStorageAccountName string = ''

@description('Most instances Flex Consumption may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Replication of the vault account (backups: geo-redundant by default, as Azure Backup vaults).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param vaultStorageSku string = 'Standard_GRS'

@description('Days deleted blobs and containers stay recoverable in the vault account.')
@minValue(7)
@maxValue(365)
param vaultSoftDeleteDays int = 14

@description('What the app runs as (KLUIS_ROLE): vm, the vault and Azure VM backup; server, a Kluis backup server (issue 16; a machine in direct mode too), whose passphrase is the Key Vault secret kluis-server-passphrase.')
@allowed([
  'vm'
  'server'
])
param role string = 'vm'

@description('role server: the data folder (KLUIS_SERVER_DATA). It must outlive the instance: mount persistent storage there (an Azure Files share); docs/backup-server.md.')
param serverDataDir string = '/mounts/kluis-server'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, appName)
var functionAppName = '${appName}-${suffix}'
var hostStorageName = take('${appName}fn${suffix}', 24)
var vaultStorageName = take('${appName}vt${suffix}', 24)
var keyVaultName = take('${appName}-kv-${suffix}', 24)
var deploymentContainerName = 'app-package'
var vaultContainerName = 'kluis-vault'
// role server: the passphrase never is a plain setting; App Service resolves this Key Vault reference with the identity.
var serverPassphraseSecretName = 'kluis-server-passphrase'
var identityName = '${appName}-id-${suffix}'
var logsName = '${appName}-logs-${suffix}'
var appInsightsName = '${appName}-ai-${suffix}'
var planName = '${appName}-plan-${suffix}'
var tags = {
  application: 'kluis'
}

// Built-in role definition ids (docs/deploy.md says why each is needed).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160ff3a'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource hostBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource vaultStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: vaultStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: vaultStorageSku
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource vaultBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: vaultStorage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: vaultSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: vaultSoftDeleteDays
    }
  }
}

resource vaultContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: vaultBlobs
  name: vaultContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: hostStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'KLUIS_VAULT_STORAGE__accountName', value: vaultStorage.name }
        { name: 'KLUIS_VAULT_STORAGE__credential', value: 'managedidentity' }
        { name: 'KLUIS_SOURCE_STORAGE__accountName', value: empty(sourceStorageAccountName) ? vaultStorage.name : sourceStorageAccountName }
        { name: 'KLUIS_SOURCE_STORAGE__credential', value: 'managedidentity' }
        { name: 'KLUIS_VAULT_CONTAINER', value: vaultContainerName }
        { name: 'KLUIS_MODE', value: 'cloud' }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'KLUIS_KEYVAULT_PRINCIPAL_ID', value: identity.properties.principalId }
        { name: 'KLUIS_INVENTORY', value: 'arm' }
        { name: 'KLUIS_AUTHORIZATION', value: 'azure' }
        { name: 'KLUIS_OWNER_PRINCIPAL_IDS', value: ownerPrincipalIds }
        { name: 'KLUIS_AUTH_TENANT_ID', value: tenant().tenantId }
        { name: 'KLUIS_AUTH_AUDIENCES', value: apiAudience }
        { name: 'KLUIS_TENANT_ID', value: tenant().tenantId }
        { name: 'KLUIS_SUBSCRIPTION_ID', value: subscription().subscriptionId }
        { name: 'KLUIS_LOCATION', value: location }
        { name: 'KLUIS_STORAGE_RESOURCE_GROUP', value: resourceGroup().name }
        { name: 'KLUIS_ROLE', value: role }
        { name: 'KLUIS_SERVER_DATA', value: role == 'server' ? serverDataDir : '' }
        { name: 'KLUIS_SERVER_PASSPHRASE', value: role == 'server' ? '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${serverPassphraseSecretName})' : '' }
        // glibc: freed MiB-sized buffers go back to the system (bin/malloc-tuning.js; the backup server's peak RSS).
        { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// No publishing with user names and passwords: deployments authenticate with Entra ID (azd, the OIDC workflow).
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: hostStorage
  name: guid(hostStorage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vaultStorage
  name: guid(vaultStorage.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vaultStorage
  name: guid(vaultStorage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: keyVault
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output KLUIS_FUNCTION_APP_NAME string = functionApp.name
output KLUIS_ENDPOINT string = 'https://${functionApp.properties.defaultHostName}'
output KLUIS_IDENTITY_CLIENT_ID string = identity.properties.clientId
output KLUIS_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output KLUIS_VAULT_STORAGE_ACCOUNT string = vaultStorage.name
output KLUIS_HOST_STORAGE_ACCOUNT string = hostStorage.name
output KLUIS_KEY_VAULT_NAME string = keyVault.name
