import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

/**
 * Sends one of kmsgate's own operations whose input is `{"KeyId"}` through a real KMSClient, so
 * the SDK serializes, signs (SigV4), sends and turns errors into its exception classes as for any
 * KMS command. No AWS SDK has a command for these operations, so a DescribeKey command (the same
 * input) carries it: X-Amz-Target is renamed before the request is signed, and the JSON body of
 * the answer is kept before DescribeKey's deserializer drops the members it does not know.
 */
export async function sendKeyIdOperation(client: KMSClient, operation: string, keyId: string): Promise<Record<string, unknown>> {
  const command = new DescribeKeyCommand({ KeyId: keyId });
  let body: Record<string, unknown> | undefined;
  command.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-amz-target'] = `TrentService.${operation}`;
      return next(args);
    },
    { step: 'build', name: 'kmsgateOwnOperationTarget' },
  );
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { statusCode: number; body: unknown };
      if (response.statusCode === 200) {
        const bytes = await readAll(response.body as AsyncIterable<Uint8Array>);
        body = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
        // The deserializer reads the body again: hand it the same bytes.
        response.body = bytes;
      }
      return out;
    },
    // Below the deserializer, so this sees the raw response first.
    { step: 'deserialize', priority: 'low', name: 'kmsgateOwnOperationBody' },
  );
  await client.send(command);
  if (body === undefined) throw new Error(`${operation}: no body`);
  return body;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}
