/**
 * The name and message an SDK call was rejected with. The SDK shows an empty message (AWS's
 * InvalidCiphertextException, KMSInvalidMacException…) as "UnknownError"; this gives it back as ''.
 */
export async function rejection(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!e) throw new Error('expected a rejection');
  return { name: e.name, message: e.message === 'UnknownError' ? '' : e.message };
}
