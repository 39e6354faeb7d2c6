/**
 * The yardstick for `npm run bench`: a bare Express 5 server with one POST handler that parses a
 * JSON body and answers JSON. The gateway's CPU per Sign is reported as a multiple of this
 * server's CPU per request, measured in the same run on the same requests. Prints its port.
 */
import express from 'express';

const app = express();
app.post('/', express.json({ type: () => true }), (req, res) => {
  res.json({ received: Object.keys(req.body as object).length });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
