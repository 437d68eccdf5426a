// Opens the daemon's status page in the system's headless Chromium, presenting an enrolled
// client certificate (mTLS), and prints what a person would read: the page text as JSON.
// Usage: NODE_EXTRA_CA_CERTS=CA_PEM node status_page.mjs URL CERT_PEM KEY_PEM SCREENSHOT_PNG
// (the box's CA is trusted through NODE_EXTRA_CA_CERTS: nothing is told to ignore TLS errors)
import { chromium } from "playwright-core";

const [url, certPath, keyPath, shot] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 30000,
});
try {
  const context = await browser.newContext({
    // Playwright presents the client certificate on the browser's behalf.
    clientCertificates: [{ origin, certPath, keyPath }],
    ignoreHTTPSErrors: false,
  });
  const page = await context.newPage();
  const response = await page.goto(url, { timeout: 20000 });
  await page.screenshot({ path: shot, fullPage: true });
  const tables = await page.$$eval("table", (ts) =>
    ts.map((t) => [...t.rows].map((r) => [...r.cells].map((c) => c.innerText))));
  console.log(JSON.stringify({
    status: response.status(),
    title: await page.title(),
    headings: await page.$$eval("h1,h2", (hs) => hs.map((h) => h.innerText)),
    tables,
    scripts: await page.$$eval("script", (s) => s.length),
  }));
} finally {
  await browser.close();
}
