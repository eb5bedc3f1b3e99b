// The roles Kluis's managed identity needs where the protected VMs live, deployed into each such resource
// group (and into AzureBackupRG_<region>_1, where Kluis keeps restore point collections as Azure Backup
// does). Custom roles hold exactly the operations Kluis calls, assignable in this resource group only;
// docs/deploy.md lists each operation and the call that needs it. protect.json is this file compiled by
// hand; test/infra checks that the two agree.

targetScope = 'resourceGroup'

@description('Object id of Kluis\'s managed identity (main.bicep\'s output KLUIS_IDENTITY_PRINCIPAL_ID).')
param principalId string

@description('VMs in this resource group are backed up: Kluis reads them and their managed disks.')
param backUpVms bool = true

@description('This is AzureBackupRG_<region>_1: Kluis creates, reads and deletes restore point collections here.')
param restorePoints bool = false

@description('Restores create managed disks and VMs in this resource group.')
param restoreTarget bool = false

@description('Storage accounts in this resource group holding page-blob (unmanaged) VM disks, or receiving restored VHDs.')
param storageAccountNames array = []

@description('Key Vaults in this resource group holding Azure Disk Encryption keys and secrets of protected VMs.')
param keyVaultNames array = []

var scopeTag = uniqueString(resourceGroup().id)
var vmReaderRoleName = guid(resourceGroup().id, 'kluis-vm-backup-reader')
var restorePointsRoleName = guid(resourceGroup().id, 'kluis-restore-points')
var restoreTargetRoleName = guid(resourceGroup().id, 'kluis-restore-target')
var diskEncryptionKeysRoleName = guid(resourceGroup().id, 'kluis-disk-encryption-keys')
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource vmReaderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (backUpVms) {
  name: vmReaderRoleName
  properties: {
    roleName: 'Kluis VM backup reader ${scopeTag}'
    description: 'Kluis reads the VMs it protects and their managed disks (resource group ${resourceGroup().name}).'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Compute/virtualMachines/read'
          'Microsoft.Compute/virtualMachines/instanceView/read'
          'Microsoft.Compute/disks/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource restorePointsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (restorePoints) {
  name: restorePointsRoleName
  properties: {
    roleName: 'Kluis restore points ${scopeTag}'
    description: 'Kluis keeps VM restore points here and reads disk restore points through a time-limited SAS (resource group ${resourceGroup().name}).'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Compute/restorePointCollections/read'
          'Microsoft.Compute/restorePointCollections/write'
          'Microsoft.Compute/restorePointCollections/restorePoints/read'
          'Microsoft.Compute/restorePointCollections/restorePoints/write'
          'Microsoft.Compute/restorePointCollections/restorePoints/delete'
          'Microsoft.Compute/restorePointCollections/restorePoints/diskRestorePoints/read'
          'Microsoft.Compute/restorePointCollections/restorePoints/diskRestorePoints/beginGetAccess/action'
          'Microsoft.Compute/restorePointCollections/restorePoints/diskRestorePoints/endGetAccess/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource restoreTargetRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (restoreTarget) {
  name: restoreTargetRoleName
  properties: {
    roleName: 'Kluis restore target ${scopeTag}'
    description: 'Kluis creates restored managed disks (uploading their data) and VMs (resource group ${resourceGroup().name}).'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Compute/disks/read'
          'Microsoft.Compute/disks/write'
          'Microsoft.Compute/disks/delete'
          'Microsoft.Compute/disks/beginGetAccess/action'
          'Microsoft.Compute/disks/endGetAccess/action'
          'Microsoft.Compute/virtualMachines/read'
          'Microsoft.Compute/virtualMachines/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource diskEncryptionKeysRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(keyVaultNames)) {
  name: diskEncryptionKeysRoleName
  properties: {
    roleName: 'Kluis disk encryption keys ${scopeTag}'
    description: 'Kluis backs up and restores the BEK secret and KEK key of encrypted VMs (resource group ${resourceGroup().name}).'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.KeyVault/vaults/deploy/action'
        ]
        notActions: []
        dataActions: [
          'Microsoft.KeyVault/vaults/secrets/getSecret/action'
          'Microsoft.KeyVault/vaults/secrets/readMetadata/action'
          'Microsoft.KeyVault/vaults/secrets/backup/action'
          'Microsoft.KeyVault/vaults/secrets/restore/action'
          'Microsoft.KeyVault/vaults/keys/read'
          'Microsoft.KeyVault/vaults/keys/backup/action'
          'Microsoft.KeyVault/vaults/keys/restore/action'
        ]
        notDataActions: []
      }
    ]
  }
}

resource vmReaderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (backUpVms) {
  name: guid(resourceGroup().id, principalId, vmReaderRoleName)
  properties: {
    roleDefinitionId: vmReaderRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource restorePointsAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (restorePoints) {
  name: guid(resourceGroup().id, principalId, restorePointsRoleName)
  properties: {
    roleDefinitionId: restorePointsRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource restoreTargetAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (restoreTarget) {
  name: guid(resourceGroup().id, principalId, restoreTargetRoleName)
  properties: {
    roleDefinitionId: restoreTargetRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageAccounts 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [for name in storageAccountNames: {
  name: name
}]

resource pageBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in storageAccountNames: {
  scope: storageAccounts[i]
  name: guid(storageAccounts[i].id, principalId, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource keyVaults 'Microsoft.KeyVault/vaults@2023-07-01' existing = [for name in keyVaultNames: {
  name: name
}]

resource diskEncryptionKeysAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in keyVaultNames: {
  scope: keyVaults[i]
  name: guid(keyVaults[i].id, principalId, diskEncryptionKeysRoleName)
  properties: {
    roleDefinitionId: diskEncryptionKeysRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

output KLUIS_ROLE_ASSIGNMENT_COUNT int = (backUpVms ? 1 : 0) + (restorePoints ? 1 : 0) + (restoreTarget ? 1 : 0) + length(storageAccountNames) + length(keyVaultNames)
