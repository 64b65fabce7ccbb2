// Starts s3rver (the npm package, an S3 REST API on loopback) for the S3
// tests: node s3rver_main.js DIR PORT BUCKET. PORT 0 takes a free port.
// Prints "s3rver listening on 127.0.0.1:PORT" once the bucket exists; the
// test waits for that line (tests/support/s3rver_process.h). Credentials
// are s3rver's fixed pair, S3RVER / S3RVER; it checks SigV4 signatures.
'use strict';
const S3rver = require('s3rver');

const [dir, port, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  // Virtual-host requests name the bucket in the host: <bucket>.s3.localhost
  // (curl resolves *.localhost to loopback). Path-style requests to
  // 127.0.0.1 are unaffected.
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket }],
});
server.run().then(
  (addr) => console.log(`s3rver listening on ${addr.address}:${addr.port}`),
  (err) => {
    console.error(`s3rver failed to start: ${err.stack || err}`);
    process.exit(1);
  },
);
