/** Whether an Azure SDK error carries this HTTP status. */
export function isStatus(err: unknown, status: number): boolean {
  return (err as { statusCode?: number } | undefined)?.statusCode === status;
}
