import { runInNewContext } from 'node:vm';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * What a person at /docs does, on a gateway listening on a random port: open the gateway's address,
 * land on Swagger UI, press "Try it out" and Execute. Swagger UI's own start script
 * (swagger-ui-init.js) runs in a VM context that stands in for the browser window; the request
 * goes where Swagger UI sends it, the spec's first server resolved against the page's URL.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.stop();
});

interface SwaggerOptions {
  spec: { servers: { url: string }[]; paths: Record<string, any> };
}

async function loadSwaggerUi(pageUrl: string): Promise<SwaggerOptions> {
  const script = await (await fetch(new URL('swagger-ui-init.js', pageUrl))).text();
  let options: SwaggerOptions | undefined;
  const window: { location: { search: string; origin: string }; onload?: () => void } = { location: { search: '', origin: new URL(pageUrl).origin } };
  const SwaggerUIBundle = Object.assign(
    (o: SwaggerOptions) => {
      options = o;
      return {};
    },
    { presets: { apis: {} }, plugins: { DownloadUrl: {} } },
  );
  runInNewContext(script, { window, SwaggerUIBundle, SwaggerUIStandalonePreset: {} });
  window.onload!();
  return options!;
}

it('GET / leads to Swagger UI, whose Execute reaches this gateway on its own port', async () => {
  const root = await fetch(t.url + '/', { redirect: 'manual' });
  expect(root.status).toBe(302);
  const pageUrl = new URL(root.headers.get('location')!, t.url + '/').href;
  expect(pageUrl).toBe(`${t.url}/docs/`);
  const page = await fetch(pageUrl);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('swagger-ui-init.js');

  const { spec } = await loadSwaggerUi(pageUrl);
  const server = new URL(spec.servers[0]!.url, pageUrl).href.replace(/\/$/, '');
  expect(server).toBe(t.url);
  const example = spec.paths['/GenerateRandom'].post.requestBody.content['application/json'].example;
  const res = await fetch(`${server}/GenerateRandom`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': t.admin.apiKey },
    body: JSON.stringify(example),
  });
  expect(res.status).toBe(200);
  expect(Buffer.from(((await res.json()) as { Plaintext: string }).Plaintext, 'base64')).toHaveLength(example.NumberOfBytes);
});

/** The request example Swagger UI puts in the editor for `op`: `example`, else the first of `examples`. */
function editorExample(spec: SwaggerOptions['spec'], op: string): Record<string, unknown> {
  const content = spec.paths[`/${op}`].post.requestBody.content['application/json'];
  return content.example ?? (Object.values(content.examples) as { value: Record<string, unknown> }[])[0]!.value;
}

it("runs the examples that name alias/demo (the README's key) as they are, once that key exists", async () => {
  // What the README's AWS CLI example leaves behind (or CreateKey's example plus CreateAlias on the page).
  const { spec } = await loadSwaggerUi(`${t.url}/docs/`);
  const kms = t.client();
  const created = await kms.send(new CreateKeyCommand(editorExample(spec, 'CreateKey') as never));
  expect(created.KeyMetadata!.KeySpec).toBe('ECC_SECG_P256K1');
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/demo', TargetKeyId: created.KeyMetadata!.KeyId }));

  const ops = Object.keys(spec.paths)
    .filter((path) => /^\/[A-Z]\w+$/.test(path) && spec.paths[path].post?.requestBody)
    .map((path) => path.slice(1))
    .filter((op) => editorExample(spec, op).KeyId === 'alias/demo');
  expect(ops.sort()).toEqual(['DeriveAddress', 'DescribeKey', 'GetPublicKey', 'GetSigningBudget', 'Sign', 'Verify']);
  for (const op of ops) {
    const res = await fetch(`${t.url}/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t.admin.apiKey },
      body: JSON.stringify(editorExample(spec, op)),
    });
    const body = (await res.json()) as { __type?: string; KeyId?: string };
    // Verify's example carries another key's signature (the summary says to paste the one Sign returned).
    if (op === 'Verify') expect([res.status, body.__type]).toEqual([400, 'KMSInvalidSignatureException']);
    else expect([op, res.status, body.__type]).toEqual([op, 200, undefined]);
  }
});
