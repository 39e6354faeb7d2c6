import { runInNewContext } from 'node:vm';
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
