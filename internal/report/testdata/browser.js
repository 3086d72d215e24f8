// Opens a login report page in headless Chromium and prints what a person
// would see as JSON: console errors, network requests, the charts, the
// summary cards, the principal table, the sign-in rows, and whether sorting
// works, one JSON line per page. One browser serves every page.
// Usage: node browser.js PAGE.html SCREENSHOT.png [PAGE.html SCREENSHOT.png]...
"use strict";
const { chromium } = require("playwright-core");
const { pathToFileURL } = require("url");

async function main() {
  const args = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    for (let i = 0; i + 1 < args.length; i += 2) {
      await check(browser, args[i], args[i + 1]);
    }
  } finally {
    await browser.close();
  }
}

async function check(browser, pagePath, shotPath) {
  const url = pathToFileURL(pagePath).href;
  const context = await browser.newContext({ viewport: { width: 1200, height: 1500 } });
  try {
    const page = await context.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
    await page.goto(url, { waitUntil: "load" });

    const seen = await page.evaluate(() => {
      const text = (el) => el.textContent.trim();
      const charts = {};
      document.querySelectorAll("svg.chart").forEach((svg) => {
        charts[svg.dataset.chart] = {
          marks: svg.querySelectorAll("rect, circle, path").length,
          width: svg.getBoundingClientRect().width,
          height: svg.getBoundingClientRect().height,
        };
      });
      const cards = {};
      document.querySelectorAll("[data-card]").forEach((c) => { cards[c.dataset.card] = Number(text(c.querySelector(".v"))); });
      const principals = Array.from(document.querySelectorAll("#principal-table tbody tr")).map((tr) => {
        const c = Array.from(tr.cells).map(text);
        return { principal: tr.dataset.principal, account: tr.dataset.account, signins: Number(c[3]), success: Number(c[4]),
          failure: Number(c[5]), mfa: Number(c[6]), nomfa: Number(c[7]) };
      });
      const rows = Array.from(document.querySelectorAll("#sign-in-table tbody tr")).map((tr) => ({
        result: tr.dataset.result, mfa: tr.dataset.mfa, id: tr.dataset.eventId,
      }));
      return { title: document.title, lang: document.documentElement.lang, charts, cards, principals, rows };
    });

    // Sorting: the principal table by sign-ins, up then down.
    const column = async () => page.$$eval("#principal-table tbody tr", (trs) => trs.map((tr) => Number(tr.cells[3].textContent)));
    await page.click("#principal-table thead th:nth-child(4)");
    const up = await column();
    await page.click("#principal-table thead th:nth-child(4)");
    const down = await column();
    const sorted = (a, f) => a.every((v, i) => i === 0 || f(a[i - 1], v));
    seen.sortsUp = sorted(up, (a, b) => a <= b);
    seen.sortsDown = sorted(down, (a, b) => a >= b);

    // The top of the page, as a person first sees it.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shotPath });
    seen.errors = errors;
    seen.requests = requests;
    process.stdout.write(JSON.stringify(seen) + "\n");
  } finally {
    await context.close();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
