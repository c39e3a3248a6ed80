// A webhook receiver that verifies both signatures an hmac delivery carries:
// X-Webhook-Signature (sha256=<hex HMAC-SHA256 of the body>; during a secret
// rotation also X-Webhook-Signature-Next) with node:crypto,
// and the Standard Webhooks headers webhook-id, webhook-timestamp and
// webhook-signature with the standardwebhooks package. It answers 204 when
// both verify and 401 otherwise, and prints one line per request.
//
//   WEBHOOK_SECRET='whsec_...' PORT=9000 node receiver.js
//
// PORT 0 picks a free port; HOST (default 127.0.0.1) is the address to bind.
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const MAX_BODY = 1 << 20; // a delivery's body is at most a few hundred KiB

// The HMAC key of both signatures: the decoded bytes of a "whsec_<base64>"
// secret, the UTF-8 bytes of any other.
function signingKey(secret) {
  if (!secret) throw new Error("WEBHOOK_SECRET is not set");
  if (!secret.startsWith("whsec_")) return Buffer.from(secret, "utf8");
  const b64 = secret.slice("whsec_".length);
  const key = Buffer.from(b64, "base64");
  // Buffer.from skips what is not base64: only a round trip shows it was.
  if (key.length === 0 || key.toString("base64") !== b64) {
    throw new Error("WEBHOOK_SECRET: a whsec_ secret must be followed by base64");
  }
  return key;
}

function seedMatches(key, body, header) {
  const want = Buffer.from("sha256=" + crypto.createHmac("sha256", key).update(body).digest("hex"));
  const got = Buffer.from(header || "");
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

function main() {
  let key;
  try {
    key = signingKey(process.env.WEBHOOK_SECRET);
  } catch (e) {
    console.error(`receiver: ${e.message}`);
    process.exit(1);
  }
  // format "raw" takes the key as it is. Without it the library base64-decodes
  // the secret (right only for whsec_ secrets); a raw string secret would be
  // read one byte per UTF-16 unit, so the key is given as bytes.
  const webhook = new Webhook(key, { format: "raw" });

  const server = http.createServer((req, res) => {
    const id = req.headers["webhook-id"] || "-"; // the delivery id: the same on every retry
    const answer = (status, line) => {
      console.log(`${status} ${line}`);
      res.writeHead(status).end();
    };
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) {
        answer(413, `${id}: body over ${MAX_BODY} bytes`);
        return;
      }
      const body = Buffer.concat(chunks);
      // During a secret rotation X-Webhook-Signature carries the old secret's
      // signature and X-Webhook-Signature-Next the new one's: a receiver that
      // checks both works with either secret.
      if (!["x-webhook-signature", "x-webhook-signature-next"].some((h) => seedMatches(key, body, req.headers[h]))) {
        answer(401, `${id}: X-Webhook-Signature does not match`);
        return;
      }
      try {
        // Any matching v1 signature among several passes (a secret rotation
        // signs with both secrets); a webhook-timestamp over 5 minutes off fails.
        webhook.verify(body, req.headers, { jsonParse: false });
      } catch (e) {
        answer(401, `${id}: webhook-signature: ${e.message}`);
        return;
      }
      // Verified: the body is the service's. Handle it here, de-duplicating on id.
      let delivery;
      try {
        delivery = JSON.parse(body.toString("utf8"));
      } catch (e) {
        answer(400, `${id}: body: ${e.message}`);
        return;
      }
      answer(204, `${id} ${delivery.event}: verified`);
    });
  });

  const host = process.env.HOST || "127.0.0.1";
  server.on("error", (e) => {
    console.error(`receiver: ${e.message}`);
    process.exit(1);
  });
  server.listen(Number(process.env.PORT || 9000), host, () => {
    console.log(`listening on http://${host}:${server.address().port}`);
  });
}

main();
