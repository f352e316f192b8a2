// SigV4 signing of GET requests to an IAM-authorised API Gateway (searchAuth=iam), with the Web Crypto API:
// the browser signs as botocore does (tests/browser/test_sigv4.py compares the two), with credentials the user
// gives, kept in this tab's sessionStorage only. Nothing here runs when the deployment is public.
"use strict";

(() => {
  const encoder = new TextEncoder();
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));

  async function hmac(key, text) {
    const raw = typeof key === "string" ? encoder.encode(key) : key;
    const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", imported, encoder.encode(text));
  }

  // RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (encodeURIComponent leaves !'()* alone).
  const rfc3986 = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

  function canonicalPath(pathname) {
    // API Gateway's canonical URI encodes each segment of the path as sent once more (only S3 does not).
    return pathname.split("/").map((segment) => rfc3986(segment)).join("/") || "/";
  }

  function canonicalQuery(searchParams) {
    return [...searchParams.entries()]
      .map(([k, v]) => [rfc3986(k), rfc3986(v)])
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
  }

  // The URL to send for a signed request: its query written as it is signed (RFC 3986, a space as %20, sorted).
  // URLSearchParams writes a space as "+", which the canonical form never holds, and a server that reads "+" as
  // itself rather than a space would compute another signature: sending what was signed leaves nothing to read.
  function canonicalUrl(url) {
    const target = new URL(url);
    const query = canonicalQuery(target.searchParams);
    return `${target.origin}${target.pathname}${query ? "?" + query : ""}`;
  }

  async function sign(url, region, credentials, now = new Date()) {
    const target = new URL(url);
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, "");
    const day = amzDate.slice(0, 8);
    const headers = { host: target.host, "x-amz-date": amzDate };
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = [
      "GET",
      canonicalPath(target.pathname),
      canonicalQuery(target.searchParams),
      names.map((n) => `${n}:${headers[n]}\n`).join(""),
      names.join(";"),
      await sha256(""),
    ].join("\n");
    const scope = `${day}/${region}/execute-api/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonical)].join("\n");
    let key = await hmac("AWS4" + credentials.secretAccessKey, day);
    for (const part of [region, "execute-api", "aws4_request"]) key = await hmac(key, part);
    const signature = hex(await hmac(key, toSign));
    const signed = {
      "x-amz-date": amzDate,
      Authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    };
    if (credentials.sessionToken) signed["x-amz-security-token"] = credentials.sessionToken;
    return signed;
  }

  function remember(accessKeyId, secretAccessKey, sessionToken) {
    sessionStorage.setItem("pagesearch-credentials", JSON.stringify({ accessKeyId, secretAccessKey, sessionToken }));
  }

  async function headers(url, region) {
    const stored = sessionStorage.getItem("pagesearch-credentials");
    return stored ? sign(url, region, JSON.parse(stored)) : {};
  }

  window.sigv4 = { sign, headers, remember, canonicalUrl };
})();
