// With KLUIS_AUTHORIZATION=azure (main.bicep's setting) Kluis decides who may do what from Azure RBAC: it
// lists a caller's role assignments in the subscription and reads their role definitions. This custom role
// holds exactly those two reads, at the subscription (deploy once per subscription Kluis serves).
// rbac-reader.json is this file compiled by hand; test/infra checks that the two agree.

targetScope = 'subscription'

@description('Object id of Kluis\'s managed identity (main.bicep\'s output KLUIS_IDENTITY_PRINCIPAL_ID).')
param principalId string

var rbacReaderRoleName = guid(subscription().id, 'kluis-rbac-reader')

resource rbacReaderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: rbacReaderRoleName
  properties: {
    roleName: 'Kluis RBAC reader ${uniqueString(subscription().id)}'
    description: 'Kluis reads role assignments and role definitions to authorize its callers (KLUIS_AUTHORIZATION=azure).'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Authorization/roleAssignments/read'
          'Microsoft.Authorization/roleDefinitions/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource rbacReaderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, rbacReaderRoleName)
  properties: {
    roleDefinitionId: rbacReaderRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
