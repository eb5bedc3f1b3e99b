/**
 * The resource providers Kluis serves, as `GET /providers` and `/subscriptions/{s}/providers[/{ns}]`
 * show them (Microsoft.Resources Provider shape): always `Registered`, with the resource types Kluis
 * answers and the api-versions the official clients send for them. Kluis accepts any api-version; the
 * lists say which ones its shapes were checked against.
 */

export interface ProviderResourceType {
  resourceType: string;
  apiVersions: readonly string[];
  /** Types without a location (tenant-level resources) list none. */
  locations?: readonly string[];
  capabilities?: string;
}

export interface ProviderDefinition {
  namespace: string;
  resourceTypes: readonly ProviderResourceType[];
}

/** The regions Kluis lets resources live in (any region name is accepted; these are listed). */
export const LISTED_LOCATIONS = [
  'West Europe',
  'North Europe',
  'Sweden Central',
  'Germany West Central',
  'UK South',
  'East US',
  'East US 2',
  'Central US',
  'West US',
  'West US 2',
  'Southeast Asia',
  'Japan East',
  'Australia East',
] as const;

const RESOURCE_CAPABILITIES = 'SupportsTags, SupportsLocation';

export const PROVIDERS: readonly ProviderDefinition[] = [
  {
    namespace: 'Microsoft.Compute',
    resourceTypes: [
      {
        resourceType: 'virtualMachines',
        locations: LISTED_LOCATIONS,
        apiVersions: ['2024-07-01', '2023-09-01', '2023-03-01', '2022-11-01', '2022-08-01', '2021-11-01', '2021-07-01', '2021-03-01'],
        capabilities: RESOURCE_CAPABILITIES,
      },
    ],
  },
  {
    namespace: 'Microsoft.KeyVault',
    resourceTypes: [{ resourceType: 'vaults', locations: LISTED_LOCATIONS, apiVersions: ['2023-07-01', '2022-07-01', '2019-09-01'], capabilities: RESOURCE_CAPABILITIES }],
  },
  {
    namespace: 'Microsoft.RecoveryServices',
    resourceTypes: [
      {
        resourceType: 'vaults',
        locations: LISTED_LOCATIONS,
        apiVersions: ['2024-04-01', '2023-06-01', '2023-04-01', '2023-02-01', '2023-01-01', '2022-10-01', '2022-09-10', '2022-08-01', '2022-03-01', '2021-12-01', '2016-06-01'],
        capabilities: RESOURCE_CAPABILITIES,
      },
    ],
  },
  {
    namespace: 'Microsoft.Resources',
    resourceTypes: [
      { resourceType: 'tenants', apiVersions: ['2022-12-01', '2021-04-01', '2020-01-01', '2019-11-01', '2016-06-01'] },
      { resourceType: 'subscriptions', apiVersions: ['2022-12-01', '2021-04-01', '2020-01-01', '2019-11-01', '2016-06-01'] },
      { resourceType: 'providers', apiVersions: ['2022-09-01', '2021-04-01', '2020-06-01', '2019-10-01'] },
      { resourceType: 'resourceGroups', locations: LISTED_LOCATIONS, apiVersions: ['2022-09-01', '2021-04-01', '2020-06-01', '2019-10-01'], capabilities: 'SupportsTags, SupportsLocation' },
    ],
  },
  {
    namespace: 'Microsoft.Storage',
    resourceTypes: [
      {
        resourceType: 'storageAccounts',
        locations: LISTED_LOCATIONS,
        apiVersions: ['2023-05-01', '2023-01-01', '2022-09-01', '2021-09-01', '2021-04-01', '2019-06-01', '2016-01-01'],
        capabilities: RESOURCE_CAPABILITIES,
      },
    ],
  },
  {
    namespace: 'Microsoft.Subscription',
    resourceTypes: [{ resourceType: 'aliases', apiVersions: ['2021-10-01', '2020-09-01'] }],
  },
];

export function findProvider(namespace: string): ProviderDefinition | undefined {
  return PROVIDERS.find((provider) => provider.namespace.toLowerCase() === namespace.toLowerCase());
}

/** A provider as ARM shows it: at subscription scope with its registration state, at tenant scope without. */
export function providerResource(provider: ProviderDefinition, subscriptionId?: string): Record<string, unknown> {
  return {
    id: subscriptionId === undefined ? `/providers/${provider.namespace}` : `/subscriptions/${subscriptionId}/providers/${provider.namespace}`,
    namespace: provider.namespace,
    ...(subscriptionId === undefined ? {} : { registrationState: 'Registered', registrationPolicy: 'RegistrationRequired' }),
    resourceTypes: provider.resourceTypes.map((type) => ({
      resourceType: type.resourceType,
      locations: [...(type.locations ?? [])],
      apiVersions: [...type.apiVersions],
      defaultApiVersion: type.apiVersions[0],
      ...(type.capabilities === undefined ? {} : { capabilities: type.capabilities }),
    })),
  };
}
