// Logs in on the demo's login page and approves the consent page in headless Chromium.
//
// Usage: node authorize.mjs <authorization URL> <username> <password>
// Prints one JSON line: {"callback": "<URL the browser was sent to>", "cookies": [...]}.
// The callback (a loopback redirect of the public demo client) is recorded, not served.
import { chromium } from 'playwright-core';

const [authorizationUrl, username, password] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // As root in a sandbox-less container; no network beyond 127.0.0.1 here.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // The demo's certificate is self-signed (generated at start).
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);

  await page.goto(authorizationUrl);
  // Not logged in: the authorization endpoint sends us to the login page.
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
  // Back at /authorize: the consent page.
  await page.waitForSelector('button[name="decision"][value="approve"]');
  // The redirect goes to the client's loopback callback, where nothing listens: the
  // request is what we need (the navigation itself then fails, which is fine).
  const [request] = await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).pathname === '/callback'),
    page.click('button[name="decision"][value="approve"]', { noWaitAfter: true }).catch(() => {}),
  ]);
  const callback = request.url();
  const cookies = await context.cookies();
  console.log(JSON.stringify({ callback, cookies }));
} finally {
  await browser.close();
}
