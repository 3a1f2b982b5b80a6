// The console's pages in a real browser: Debian's chromium driven by playwright-core.
// Run by crates/server/tests/browser.rs, which starts the server, completes verifications
// through the RPC API, reads the JSON API's numbers, and passes them here in a JSON file:
//   node console_test.mjs <config.json>
// Prints one line per check and closes with `console_test: N passed, M failed`; exits 1 on
// any failure. Screenshots of each page go to config.screenshots.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const demo = JSON.parse(readFileSync(cfg.demo_file, 'utf8'));
const base = `http://${demo.endpoint}`;
const logins = demo.console_logins;
mkdirSync(cfg.screenshots, { recursive: true });

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL - ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
function equal(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const browser = await chromium.launch({ executablePath: cfg.chromium, headless: true });

/** A fresh browser context signed in as `name`; its page sits on the page after sign-in. */
async function signIn(name, password) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/console/signin`);
  await page.fill('#login_name', name);
  await page.fill('#password', password);
  const [response] = await Promise.all([page.waitForNavigation(), page.click('#signin-submit')]);
  return { context, page, response };
}

async function shot(page, name) {
  await page.screenshot({ path: join(cfg.screenshots, `${name}.png`), fullPage: true });
}

/** The CSRF token the page's forms carry. */
async function csrf(page) {
  return page.getAttribute('input[name=csrf]', 'value');
}

const service = logins['kyc-service'];
const serviceUser = service.login_name.split('@')[0];
const forms = [
  ['default domain', service.login_name],
  ['account alias', `${serviceUser}@${demo.account_alias}`],
  ['domain alias', `${serviceUser}@${demo.domain_alias}`],
];

await check('the sign-in page is Chinese by default and English with ?lang=en', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/console/signin`);
  assert((await page.textContent('#signin')).includes('登录名称'), 'Chinese label');
  await shot(page, 'signin');
  await page.goto(`${base}/console/signin?lang=en`);
  assert((await page.textContent('#signin')).includes('Login name'), 'English label');
  await context.close();
});

for (const [form, name] of forms) {
  await check(`kyc-service signs in with the ${form} form (${name})`, async () => {
    const { context, page } = await signIn(name, service.password);
    assert(page.url().endsWith('/console/scenes'), `landed on ${page.url()}`);
    assert((await page.textContent('#who')).includes(serviceUser), 'the header names the user');
    const cookie = (await context.cookies()).find((c) => c.name === 'shiren_console');
    assert(cookie, 'the session cookie is kept (Secure on http://127.0.0.1 is allowed by chromium)');
    assert(cookie.secure && cookie.httpOnly && cookie.sameSite === 'Strict', `attributes ${JSON.stringify(cookie)}`);
    assert(cookie.expires > Date.now() / 1000, 'the cookie expires in the future');
    assert(!(await page.evaluate(() => document.cookie)).includes('shiren_console'), 'HttpOnly: scripts cannot read it');
    await context.close();
  });
}

await check('the main account signs in with its account ID', async () => {
  const { context, page } = await signIn(logins.main.login_name, logins.main.password);
  assert(page.url().endsWith('/console/scenes'), `landed on ${page.url()}`);
  assert((await page.textContent('#who')).includes('main account'), 'the header names the main account');
  await context.close();
});

await check('a wrong password is refused, with no session', async () => {
  const { context, page, response } = await signIn(service.login_name, `${service.password}x`);
  equal(response.status(), 401, 'status');
  equal((await page.textContent('#signin-error')).trim(), '登录名称或密码错误', 'message');
  assert(!(await context.cookies()).some((c) => c.name === 'shiren_console'), 'no session cookie');
  const scenes = await page.goto(`${base}/console/scenes`);
  assert(page.url().endsWith('/console/signin'), `unsigned visit lands on ${page.url()} (${scenes.status()})`);
  await context.close();
});

await check('a sign-in POST without the sign-in form\'s token is refused (login CSRF), even with the right password', async () => {
  const context = await browser.newContext();
  const forged = await context.request.post(`${base}/console/signin`, {
    form: { login_name: service.login_name, password: service.password },
    maxRedirects: 0,
  });
  equal(forged.status(), 403, 'status');
  assert(!(await context.cookies()).some((c) => c.name === 'shiren_console'), 'no session cookie');
  await context.close();
});

// ---- read-only, no policy ----------------------------------------------------------------
await check('the read-only user sees the scenes but no change buttons, and a forged POST is refused 403', async () => {
  const { context, page } = await signIn(logins.auditor.login_name, logins.auditor.password);
  assert((await page.locator('.scene').count()) > 0, 'scene cards are shown');
  equal(await page.locator('#create-scene').count(), 0, 'create form count');
  equal(await page.locator('.delete-submit').count(), 0, 'delete buttons');
  equal(await page.locator('.rename-submit').count(), 0, 'rename buttons');
  await shot(page, 'scenes-readonly');
  const token = await csrf(page);
  assert(token, 'the sign-out form carries a token');
  const forged = await page.request.post(`${base}/console/scenes`, {
    form: { csrf: token, tab: 'REAL_PERSON', name: 'auditor-scene', offer: 'App:ID_PRO' },
    maxRedirects: 0,
  });
  equal(forged.status(), 403, 'forged create status');
  assert((await forged.text()).includes('no-permission'), 'the no-permission page');
  await page.reload();
  assert(!(await page.content()).includes('auditor-scene'), 'no scene was created');
  for (const path of ['statistics', 'records', 'packs', 'bills']) {
    const r = await page.goto(`${base}/console/${path}`);
    equal(r.status(), 200, `read-only ${path}`);
  }
  await context.close();
});

await check('a user with no console policy gets the no-permission page (403), not an error', async () => {
  const { context, page } = await signIn(logins.intern.login_name, logins.intern.password);
  const r = await page.goto(`${base}/console/scenes`);
  equal(r.status(), 403, 'status');
  assert((await page.textContent('#no-permission h2')).includes('无权限'), 'the heading says so');
  await shot(page, 'no-permission');
  await context.close();
});

// ---- full access: scenes ----------------------------------------------------------------------
const { context: full, page } = await signIn(service.login_name, service.password);
// Every message chromium logs; a Content-Security-Policy violation would show here.
const consoleMessages = [];
page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));

if (cfg.phase === 'before') {
  // Before any verification: the page shows the API's (empty) numbers; the test then
  // completes sessions through the API and runs the full phase, whose numbers changed.
  await check("before any verification, statistics show the JSON API's numbers", async () => {
    await statisticsMatch(page, cfg.before);
    await shot(page, 'statistics-before');
  });
  await check('before any verification, the record query finds nothing', async () => {
    await page.goto(`${base}/console/records`);
    equal(await page.locator('tr.record').count(), 0, 'records');
    equal(await page.locator('#no-records').count(), 1, 'the empty message');
  });
  await full.close();
  await browser.close();
  console.log(`console_test: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

await check('an empty scene name shows 场景名称不能为空', async () => {
  await page.goto(`${base}/console/scenes?tab=REAL_PERSON`);
  await page.fill('#new-scene-name', '   ');
  const [r] = await Promise.all([page.waitForNavigation(), page.click('#create-scene-submit')]);
  equal(r.status(), 400, 'status');
  equal((await page.textContent('#scene-error')).trim(), '场景名称不能为空', 'message');
});

await check('the full-access user creates, renames and deletes a scene', async () => {
  await page.goto(`${base}/console/scenes?tab=REAL_PERSON`);
  await page.fill('#new-scene-name', 'browser-scene');
  await Promise.all([page.waitForNavigation(), page.click('#create-scene-submit')]);
  const card = page.locator('.scene', { has: page.locator('.scene-name', { hasText: /^browser-scene$/ }) });
  equal(await card.count(), 1, 'the new card');
  const id = (await card.locator('.scene-id').textContent()).trim();
  assert(/^\d+$/.test(id), `scene ID ${id}`);
  await shot(page, 'scenes');
  await card.locator('.rename-name').fill('browser-renamed');
  await Promise.all([page.waitForNavigation(), card.locator('.rename-submit').click()]);
  const renamed = page.locator(`.scene[data-scene-id="${id}"]`);
  equal((await renamed.locator('.scene-name').textContent()).trim(), 'browser-renamed', 'renamed');
  await Promise.all([page.waitForNavigation(), renamed.locator('.delete-submit').click()]);
  equal(await page.locator(`.scene[data-scene-id="${id}"]`).count(), 0, 'deleted');
});

await check('an XSS attempt in a scene name is shown as text', async () => {
  await page.goto(`${base}/console/scenes?tab=REAL_PERSON`);
  // 18 characters: within the name's length limit, so the character rule refuses it.
  const evil = '<svg onload=__x=1>';
  await page.fill('#new-scene-name', evil);
  await Promise.all([page.waitForNavigation(), page.click('#create-scene-submit')]);
  const error = await page.textContent('#scene-error');
  assert(error.includes('<'), `the refusal quotes the text: ${error}`);
  equal(await page.locator('#scene-error svg').count(), 0, 'no element was injected');
  equal(await page.evaluate(() => window.__x), undefined, 'no script ran');
  equal(await page.locator('.scene-name', { hasText: 'svg' }).count(), 0, 'no scene was created');
});

await check('a POST without the CSRF token is refused', async () => {
  const forged = await page.request.post(`${base}/console/scenes`, {
    form: { tab: 'REAL_PERSON', name: 'csrf-scene', offer: 'App:ID_PRO' },
    maxRedirects: 0,
  });
  equal(forged.status(), 403, 'status');
  assert((await forged.text()).includes('csrf-refused'), 'the refusal page');
  const wrong = await page.request.post(`${base}/console/scenes`, {
    form: { csrf: '0'.repeat(32), tab: 'REAL_PERSON', name: 'csrf-scene', offer: 'App:ID_PRO' },
    maxRedirects: 0,
  });
  equal(wrong.status(), 403, 'a wrong token');
  await page.goto(`${base}/console/scenes`);
  assert(!(await page.content()).includes('csrf-scene'), 'no scene was created');
});

// ---- statistics -----------------------------------------------------------------------------------
/** The statistics page shows `expected` (the JSON API's numbers for the same range). */
async function statisticsMatch(page, expected) {
  await page.goto(`${base}/console/statistics?${expected.query}`);
  equal((await page.textContent('#total-passed')).trim(), String(expected.passed), 'passed');
  equal((await page.textContent('#total-failed')).trim(), String(expected.failed), 'failed');
  equal((await page.textContent('#total-submissions')).trim(), String(expected.submissions), 'submissions');
  equal((await page.textContent('#total-compare-count')).trim(), String(expected.compare_count), 'compare count');
  equal(await page.getAttribute('#stats-totals', 'data-from'), expected.from, 'first day');
  equal(await page.getAttribute('#stats-totals', 'data-to'), expected.to, 'last day');
  equal(await page.locator('#stats-daily tbody tr').count(), expected.days, 'daily rows');
  for (const chart of ['#chart-counts', '#chart-pass-rate', '#chart-compare']) {
    equal(await page.locator(`svg${chart}`).count(), 1, `${chart} drawn`);
  }
  const today = page.locator(`#stats-daily tr[data-day="${expected.to}"]`);
  equal((await today.locator('.submissions').textContent()).trim(), String(expected.today_submissions), "today's submissions");
  // The chart's last point of the submissions line is today's count.
  const points = page.locator('#chart-counts circle title');
  const last = (await points.nth(await points.count() - 1).textContent()).trim();
  assert(last.endsWith(`: ${expected.today_submissions}`), `the chart's last point: ${last}`);
}

for (const expected of cfg.statistics) {
  await check(`statistics (${expected.label}) show the JSON API's numbers`, async () => {
    await statisticsMatch(page, expected);
    if (expected.label === '7 days') await shot(page, 'statistics');
  });
}

await check('a custom range over 180 days is refused with the message', async () => {
  const r = await page.goto(`${base}/console/statistics?${cfg.too_long_query}`);
  equal(r.status(), 400, 'status');
  assert((await page.textContent('#stats-error')).includes('自定义时间范围最长180天'), 'the message');
});

// ---- records ------------------------------------------------------------------------------------------
await check('the record query finds the verification by certify ID; the details show the masked ID number only', async () => {
  await page.goto(`${base}/console/records`);
  await page.selectOption('#records-id-kind', 'certify_id');
  await page.fill('#records-id-value', cfg.certify_id);
  await Promise.all([page.waitForNavigation(), page.click('#records-submit')]);
  equal(await page.locator('tr.record').count(), 1, 'one record');
  equal(await page.getAttribute('tr.record', 'data-certify-id'), cfg.certify_id, 'its certify ID');
  await Promise.all([page.waitForNavigation(), page.click('tr.record a.detail-link')]);
  equal((await page.textContent('#detail-certify-id')).trim(), cfg.certify_id, 'details certify ID');
  equal((await page.textContent('#detail-result')).trim(), 'T', 'result');
  equal((await page.textContent('#detail-sub-code')).trim(), '200', 'sub code');
  const masked = (await page.textContent('#detail-id-number')).trim();
  assert(masked.includes('*') && masked.length === 18, `masked ID number ${masked}`);
  equal(masked.slice(-4), cfg.id_number.slice(-4), 'the masked number keeps the last four');
  const html = await page.content();
  assert(!html.includes(cfg.id_number), 'the plain ID number is nowhere in the page');
  assert(!html.includes(cfg.person_name), 'the plain name is nowhere in the page');
  await shot(page, 'records');
});

await check('the details of a stored photo link it through a short-lived pre-signed URL', async () => {
  await page.goto(`${base}/console/records?id_kind=certify_id&id_value=${cfg.photo_certify_id}&detail=${cfg.photo_certify_id}`);
  const link = page.locator('#record-details a.photo-link');
  equal(await link.count(), 1, 'one photo link');
  const href = new URL(await link.getAttribute('href'));
  equal(href.protocol, 'https:', 'scheme');
  equal(href.host, `cn-shanghai-aliyun-cloudauth-${cfg.account}.oss-cn-shanghai.aliyuncs.com`, 'the photo bucket');
  equal(href.pathname, `/verify/${cfg.account}/${cfg.photo_certify_id}.jpeg`, 'the object');
  equal(href.searchParams.get('x-oss-expires'), '900', 'lives 15 minutes');
  equal(href.searchParams.get('x-oss-signature-version'), 'OSS4-HMAC-SHA256', 'V4');
  assert(/^[0-9a-f]{64}$/.test(href.searchParams.get('x-oss-signature') ?? ''), 'signed');
});

await check('records come in pages, newest first, each page keeping the filters', async () => {
  await page.goto(`${base}/console/records?limit=1`);
  const seen = [];
  for (;;) {
    equal(await page.locator('tr.record').count(), 1, `page ${seen.length + 1} size`);
    seen.push(await page.getAttribute('tr.record', 'data-certify-id'));
    if ((await page.locator('#next-page').count()) === 0) break;
    assert((await page.getAttribute('#next-page', 'href')).includes('limit=1'), 'the next page keeps the size');
    await Promise.all([page.waitForNavigation(), page.click('#next-page')]);
    assert(seen.length <= cfg.total_records, 'the pages end');
  }
  equal(seen.length, cfg.total_records, 'every record once');
  equal(new Set(seen).size, seen.length, 'no record twice');
});

await check('records filter by result', async () => {
  await page.goto(`${base}/console/records?passed=F`);
  const rows = await page.locator('tr.record').count();
  equal(rows, cfg.failed_records, 'failed records');
});

// ---- packs and bills ------------------------------------------------------------------------------------
await check('the packs page lists the demo packs and sets a remaining-quota alert in its dialog', async () => {
  await page.goto(`${base}/console/packs`);
  const rows = page.locator('tr.pack');
  equal(await rows.count(), cfg.packs, 'pack rows');
  const first = rows.first();
  assert((await first.textContent()).includes('实人认证流量包'), 'the free real-person pack');
  equal((await first.locator('.total').textContent()).trim(), '100', 'total');
  await first.locator('.alert-open').click();
  const dialog = first.locator('dialog');
  assert(await dialog.evaluate((d) => d.open), 'the dialog opened (its script runs under the CSP)');
  await dialog.locator('.alert-cancel').click();
  assert(!(await dialog.evaluate((d) => d.open)), 'cancel closes it without saving');
  await first.locator('.alert-open').click();
  await shot(page, 'packs-alert');
  await dialog.locator('.alert-percent').fill('30');
  const [r] = await Promise.all([page.waitForNavigation(), dialog.locator('.alert-save').click()]);
  equal(r.status(), 200, 'saved and back to the list');
  equal(await page.locator('#pack-error').count(), 0, 'no error');
  const token = await csrf(page);
  const packId = await page.getAttribute('tr.pack', 'data-pack-id');
  const refused = await page.request.post(`${base}/console/packs/${packId}/alert`, {
    form: { csrf: token, percent: '150' },
    maxRedirects: 0,
  });
  equal(refused.status(), 400, 'a threshold over 100 % is refused');
  assert((await refused.text()).includes('pack-error'), "the meter's message is shown");
});

await check("the bills page shows the API's daily bills, balance and the monthly statement's days", async () => {
  await page.goto(`${base}/console/bills`);
  equal(await page.locator('tr.bill').count(), cfg.bills.count, 'daily bills');
  equal((await page.textContent('#balance')).trim(), cfg.bills.balance, 'balance');
  equal(await page.getAttribute('#statement', 'data-first-day'), cfg.bills.statement_first_day, 'statement first day');
  equal(await page.getAttribute('#statement', 'data-last-day'), cfg.bills.statement_last_day, 'statement last day');
  await shot(page, 'bills');
});

await check('English labels with ?lang=en, kept by a cookie', async () => {
  await page.goto(`${base}/console/scenes?lang=en`);
  equal((await page.textContent('main h1')).trim(), 'Access settings', 'English title');
  await page.goto(`${base}/console/statistics`);
  equal((await page.textContent('main h1')).trim(), 'Data statistics', 'still English');
  await page.goto(`${base}/console/statistics?lang=zh`);
  equal((await page.textContent('main h1')).trim(), '数据统计', 'Chinese again');
});

await check('sign-out ends the session', async () => {
  await page.goto(`${base}/console/scenes`);
  await Promise.all([page.waitForNavigation(), page.click('#signout')]);
  assert(page.url().endsWith('/console/signin'), `landed on ${page.url()}`);
  await page.goto(`${base}/console/scenes`);
  assert(page.url().endsWith('/console/signin'), 'signed out');
});

await check('pages carry a strict CSP and no-referrer, and nothing violated the CSP', async () => {
  const r = await page.goto(`${base}/console/packs`);
  const headers = r.headers();
  const csp = headers['content-security-policy'] ?? '';
  assert(csp.includes("default-src 'none'") && csp.includes("script-src 'sha256-"), `CSP ${csp}`);
  equal(headers['referrer-policy'], 'no-referrer', 'referrer policy');
  equal(headers['x-frame-options'], 'DENY', 'framing');
  equal(headers['cache-control'], 'no-store', 'caching');
  const violations = consoleMessages.filter((m) => m.includes('Content Security Policy'));
  equal(violations.length, 0, `CSP violations: ${violations.join(' | ')}`);
});

await check('sign-in attempts are rate-limited per login name', async () => {
  const intern = logins.intern;
  for (let i = 0; i < 5; i += 1) {
    const { context, response } = await signIn(intern.login_name, `wrong-${i}`);
    equal(response.status(), 401, `attempt ${i + 1}`);
    await context.close();
  }
  const { context, page: limited, response } = await signIn(intern.login_name, intern.password);
  equal(response.status(), 429, 'the right password after five failures');
  assert((await limited.textContent('#signin-error')).includes('登录尝试过于频繁'), 'the message');
  assert(!(await context.cookies()).some((c) => c.name === 'shiren_console'), 'no session');
  await context.close();
});

await full.close();
await browser.close();
console.log(`console_test: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
