/**
 * Azure geographies: the data-residency boundary a region belongs to. Key Vault restores a backup only
 * into a vault of the same subscription and geography ("Key Vault backup … can be restored only within
 * the same Azure geography"), and Kluis's restoreKeyAndSecret keeps to that. Regions not listed form a
 * geography of their own.
 */
const GEOGRAPHIES: Record<string, readonly string[]> = {
  Europe: ['westeurope', 'northeurope'],
  'United Kingdom': ['uksouth', 'ukwest'],
  France: ['francecentral', 'francesouth'],
  Germany: ['germanywestcentral', 'germanynorth'],
  Switzerland: ['switzerlandnorth', 'switzerlandwest'],
  Norway: ['norwayeast', 'norwaywest'],
  Sweden: ['swedencentral', 'swedensouth'],
  'United States': ['eastus', 'eastus2', 'centralus', 'northcentralus', 'southcentralus', 'westcentralus', 'westus', 'westus2', 'westus3'],
  Canada: ['canadacentral', 'canadaeast'],
  Brazil: ['brazilsouth', 'brazilsoutheast'],
  Australia: ['australiaeast', 'australiasoutheast', 'australiacentral', 'australiacentral2'],
  'Asia Pacific': ['eastasia', 'southeastasia'],
  Japan: ['japaneast', 'japanwest'],
  Korea: ['koreacentral', 'koreasouth'],
  India: ['centralindia', 'southindia', 'westindia'],
  'South Africa': ['southafricanorth', 'southafricawest'],
  UAE: ['uaenorth', 'uaecentral'],
};

/** The geography of a region (ARM's spelling, any case or spaces), or the region itself when unknown. */
export function geographyOf(region: string): string {
  const wanted = region.replace(/\s+/g, '').toLowerCase();
  return Object.entries(GEOGRAPHIES).find(([, regions]) => regions.includes(wanted))?.[0] ?? wanted;
}

export function sameGeography(a: string, b: string): boolean {
  return geographyOf(a) === geographyOf(b);
}
