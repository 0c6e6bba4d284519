import { crc32, deflateSync } from "node:zlib";
import { expect, test, type Browser, type BrowserContext, type Locator, type Page } from "@playwright/test";
import { visited, writeSummary } from "./check";

// The shop's whole story in a browser, against the real API and workflows
// (api/webjourney_test.go serves the app and seeds what the journey needs):
// a guest finds a product despite a typo, filters, buys it as a new customer
// and pays with the test payment; staff ship it; the customer sees the
// tracking number and asks for a return; an admin sees the sale. Steps run in
// order and share the browser sessions; a failed step skips the rest.

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the journey with go test -run '^TestWebJourney$' ./api/`);
  return v;
}

const product = env("E2E_PRODUCT");
const typo = env("E2E_SEARCH_TYPO");
const brand = env("E2E_BRAND");
const customer = { username: env("E2E_CUSTOMER_USERNAME"), password: env("E2E_CUSTOMER_PASSWORD") };
const staff = { username: env("E2E_STAFF_USERNAME"), password: env("E2E_STAFF_PASSWORD") };
const admin = { username: env("E2E_ADMIN_USERNAME"), password: env("E2E_ADMIN_PASSWORD") };
const tracking = `TRK-E2E-${Date.now()}`;

test.describe.configure({ mode: "serial" });

let shopper: BrowserContext;
let page: Page;
let orderId = "";

async function newSession(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  // Headless Chromium names itself HeadlessChrome, which the shop takes for
  // a bot and whose behaviour events it drops: the journey's shopper is a
  // desktop Chrome, so analytics count its visit.
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`;
  return browser.newContext({ baseURL: env("BASE_URL"), viewport, userAgent });
}

test.beforeAll(async ({ browser }) => {
  shopper = await newSession(browser);
  page = await shopper.newPage();
});

test.afterAll(async () => {
  await shopper.close();
  writeSummary();
});

/** signIn signs in on /signin and waits to be sent on to next. */
async function signIn(p: Page, who: { username: string; password: string }, next: string): Promise<void> {
  await p.goto(`/signin?next=${encodeURIComponent(next)}`);
  await p.getByLabel("Username").fill(who.username);
  await p.getByLabel("Password", { exact: true }).fill(who.password);
  await p.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(p).toHaveURL((u) => u.pathname === next);
}

/** choose picks option in a filter that is a select or a group of checkboxes. */
async function choose(p: Page, label: string, option: string): Promise<void> {
  const select = p.getByRole("combobox", { name: label, exact: true });
  if (await select.count()) {
    await select.selectOption({ label: option });
    return;
  }
  const box = p.getByRole("group", { name: label }).getByRole("checkbox", { name: option });
  await box.click();
  await expect(box).toBeChecked();
}

/** fillOrSelect fills a text input, or picks the option of a select. */
async function fillOrSelect(field: Locator, value: string): Promise<void> {
  if ((await field.evaluate((el) => el.tagName)) === "SELECT") {
    const options = await field.locator("option").evaluateAll((os) =>
      os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? "" })),
    );
    const hit = options.find((o) => o.value === value || o.text.includes(value)) ?? options.find((o) => o.value !== "");
    if (!hit) throw new Error(`no option to choose in ${field.toString()}`);
    await field.selectOption(hit.value);
    return;
  }
  await field.fill(value);
}

/** orderShows opens the customer's order until it shows status. */
async function orderShows(status: string): Promise<void> {
  await expect(async () => {
    await page.goto(`/account/orders/${orderId}`);
    await expect(page.getByTestId("order-status")).toHaveText(status, { timeout: 5_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByRole("heading", { level: 1, name: `Order ${orderId}` })).toBeVisible();
}

/** png encodes a width x height picture: a two-colour diagonal gradient. */
function png(width: number, height: number): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      raw.set([Math.round(30 + 200 * t), Math.round(90 + 60 * t), Math.round(200 - 150 * t)], row + 1 + x * 3);
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

test("staff add a picture to the product; the storefront shows its resized variants", async ({ browser }) => {
  const office = await newSession(browser);
  try {
    const p = await office.newPage();
    await signIn(p, staff, "/admin/products");
    await p.getByRole("link", { name: product, exact: true }).click();
    const alt = `${product}, side view`;
    await p.getByLabel("Upload image").setInputFiles({ name: "shoe.png", mimeType: "image/png", buffer: png(900, 600) });
    await p.getByLabel("Alt text", { exact: true }).fill(alt);
    await p.getByRole("button", { name: "Upload", exact: true }).click();
    // The ProcessProductImage workflow makes the variants; the list polls until it is ready.
    const images = p.getByRole("region", { name: "Images" });
    await expect(images.getByRole("img", { name: alt })).toBeVisible({ timeout: 60_000 });
    await expect(images.getByText(/processing|failed/)).toHaveCount(0, { timeout: 60_000 });
    await visited(p, "admin-product-image", "admin-product-images.png");
  } finally {
    await office.close();
  }
  // The storefront's product page serves a resized variant from /images/.
  await expect(async () => {
    await page.goto("/search?q=" + encodeURIComponent(product));
    await page.getByRole("link", { name: product, exact: true }).first().click();
    const img = page.locator("main img").first();
    await expect(img).toHaveAttribute("src", /^\/images\/[0-9a-f]+\.(jpg|png|webp)$/, { timeout: 5_000 });
    expect(await img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0)).toBeTruthy();
  }).toPass({ timeout: 60_000 });
  await page.goto("/");
});

test("a guest finds the product despite a typo", async () => {
  await page.goto("/");
  const search = page.getByRole("combobox", { name: "Search products" });
  await expect(search).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await visited(page, "home", "storefront-home.png");

  await search.fill(typo);
  await search.press("Enter");
  await expect(page).toHaveURL(/\/search\?/);
  expect(new URL(page.url()).searchParams.get("q")).toBe(typo);
  await expect(page.getByRole("heading", { level: 1, name: "Search results" })).toBeVisible();
  for (const label of ["Category", "Brand", "Min price", "Max price", "In stock only", "Sort by"]) {
    await expect.soft(page.getByLabel(label, { exact: true }).or(page.getByRole("group", { name: label })).first()).toBeVisible();
  }
  await expect(page.getByRole("link", { name: product, exact: true }).first()).toBeVisible();
  await visited(page, "search");
});

test("filters narrow the results and live in the URL", async () => {
  // The filters live in the URL: a click navigates, then the box shows it.
  const inStock = page.getByRole("checkbox", { name: "In stock only" });
  await inStock.click();
  await expect(page).toHaveURL(/[?&]in_stock=/);
  await expect(inStock).toBeChecked();
  await choose(page, "Brand", brand);
  await expect(page).toHaveURL(/[?&]brand=/);
  await expect(page.getByRole("link", { name: product, exact: true }).first()).toBeVisible();
  // The seeded socks are out of stock and of another brand.
  await expect(page.getByRole("link", { name: "Trail Running Socks" })).toHaveCount(0);
  await visited(page, "search-filtered");
});

test("the product page shows price, stock and what others bought", async () => {
  await page.getByRole("link", { name: product, exact: true }).first().click();
  await expect(page).toHaveURL(/\/p\/\d+/);
  await expect(page.getByRole("heading", { level: 1, name: product })).toBeVisible();
  await expect(page.getByText(/In stock|Only \d+ left/).first()).toBeVisible();
  await expect(page.getByText(/\$89\.00/).first()).toBeVisible();
  await expect(page.getByRole("heading", { name: "Customers also bought" })).toBeVisible();
  await visited(page, "product", "storefront-product.png");
});

test("on a phone, home and product pages fit the screen", async ({ browser }) => {
  const phone = await newSession(browser, { width: 390, height: 844 });
  try {
    const p = await phone.newPage();
    const productPath = new URL(page.url()).pathname;
    for (const [name, url] of [["phone-home", "/"], ["phone-product", productPath]] as const) {
      await p.goto(url);
      await expect(p.getByRole("heading", { level: 1 })).toBeVisible();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect.soft(overflow, `${name}: no sideways scrolling`).toBeLessThanOrEqual(0);
      await visited(p, name);
    }
  } finally {
    await phone.close();
  }
});

test("adds the product to the cart and signs up", async () => {
  const productPath = new URL(page.url()).pathname;
  await page.getByLabel("Quantity", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Add to cart" }).click();
  // A guest's cart may wait for an account: the shopper signs up, and the
  // app comes back to where it sent them from.
  const added = page.getByRole("status").filter({ hasText: "Added to cart" });
  await expect(added.or(page.getByRole("button", { name: "Sign in", exact: true })).first()).toBeVisible();
  let signedUp = false;
  if (!(await added.isVisible())) {
    await visited(page, "signin");
    await signUp(new URL(page.url()).searchParams.get("next") ?? productPath);
    signedUp = true;
    if (new URL(page.url()).pathname === productPath) {
      await page.getByRole("button", { name: "Add to cart" }).click();
      await expect(added).toBeVisible();
    }
  }
  if (new URL(page.url()).pathname !== "/cart") {
    await page.getByRole("link", { name: /^Cart/ }).click();
  }
  await expect(page.getByRole("heading", { level: 1, name: "Cart" })).toBeVisible();
  await expect(page.getByLabel(`Quantity of ${product}`)).toHaveValue("1");
  await expect(page.locator("dt", { hasText: /^Total$/ })).toBeVisible();
  for (const term of ["Subtotal", "Shipping", "Tax"]) {
    await expect.soft(page.locator("dt", { hasText: new RegExp(`^${term}$`) })).toBeVisible();
  }
  await expect.soft(page.getByRole("button", { name: `Remove ${product}` })).toBeVisible();
  await expect.soft(page.getByLabel("Coupon code")).toBeVisible();
  await expect.soft(page.getByRole("button", { name: "Apply coupon" })).toBeVisible();
  await expect.soft(page.getByLabel("Shipping method")).toBeVisible();
  await visited(page, "cart");
  await page.getByRole("link", { name: "Checkout" }).or(page.getByRole("button", { name: "Checkout" })).first().click();
  if (!signedUp) {
    // Checkout is for signed-in shoppers: the guest creates an account.
    await expect(page).toHaveURL(/\/signin\?next=/);
    await visited(page, "signin");
    await signUp("/checkout");
  }
  await expect(page).toHaveURL(/\/checkout$/);
  await expect(page.getByRole("link", { name: "Account" })).toBeVisible();
});

/** signUp goes from the sign-in page to sign-up, creates the account and lands on next. */
async function signUp(next: string): Promise<void> {
  const link = page.getByRole("link", { name: /sign up|create (an )?account/i });
  if (new URL(page.url()).pathname === "/signin" && (await link.count())) {
    await link.first().click();
    await expect(page).toHaveURL(/\/signup/);
  } else {
    await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  }
  await page.getByLabel("Username").fill(customer.username);
  await page.getByLabel("Email").fill(`${customer.username}@example.com`);
  await page.getByLabel("Password", { exact: true }).fill(customer.password);
  await page.getByLabel("First name").fill("Robin");
  await page.getByLabel("Last name").fill("Runner");
  await visited(page, "signup");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL((u) => u.pathname === next);
}

test("checks out and pays with the test payment", async () => {
  const fields: [string, string][] = [
    ["Full name", "Robin Runner"],
    ["Address line 1", "5 Market St"],
    ["City", "Springfield"],
    ["Region", "CA"],
    ["Postal code", "90001"],
    ["Country", "US"],
    ["Phone", "+1 555 0100"],
  ];
  for (const [label, value] of fields) {
    await fillOrSelect(page.getByLabel(label, { exact: true }), value);
  }
  await visited(page, "checkout");
  await page.getByRole("button", { name: "Place order" }).click();

  const testPayment = page.getByRole("region", { name: "Test payment (development only)" });
  await expect(testPayment).toBeVisible();
  await visited(page, "checkout-payment");
  // A reload keeps the placed order's payment step (the order is in the URL).
  await expect(page).toHaveURL(/\/checkout\?order=\d+$/);
  await page.reload();
  await expect(testPayment).toBeVisible();
  // The order page pays an order that still awaits payment.
  await page.getByRole("link", { name: /^View order \d+$/ }).click();
  await expect(page).toHaveURL(/\/account\/orders\/\d+$/);
  orderId = /\/account\/orders\/(\d+)$/.exec(page.url())?.[1] ?? "";
  expect(orderId).not.toBe("");
  await expect(page.getByTestId("order-status")).toHaveText("awaiting_payment");
  await page.getByRole("region", { name: "Test payment (development only)" }).getByRole("button", { name: "Pay with test card" }).click();

  // The webhook hands the payment to the checkout workflow; the page refreshes.
  await expect(page.getByTestId("order-status")).toHaveText("paid", { timeout: 60_000 });
  await expect(page.getByRole("heading", { level: 1, name: `Order ${orderId}` })).toBeVisible();
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline).toBeVisible();
  await expect(timeline.getByRole("listitem").nth(1)).toBeVisible();
  await expect.soft(page.getByRole("button", { name: "Cancel order" })).toBeVisible();
  await visited(page, "order-paid", "storefront-order.png");
});

test("staff pick, pack and ship it from the fulfilment queue", async ({ browser }) => {
  const office = await newSession(browser);
  try {
    const p = await office.newPage();
    await signIn(p, staff, "/admin/fulfilment");
    const nav = p.getByRole("navigation", { name: "Admin" });
    await expect(nav).toBeVisible();
    for (const link of ["Dashboard", "Products", "Categories", "Stock", "Orders", "Fulfilment", "Returns", "Coupons", "Users"]) {
      await expect.soft(nav.getByRole("link", { name: link, exact: true })).toBeVisible();
    }
    await expect(p.getByRole("heading", { level: 1, name: "Fulfilment" })).toBeVisible();
    // The paid order's parcel joins the queue once its fulfilment allocated it.
    const parcel = p
      .locator("article, tr, li")
      .filter({ hasText: new RegExp(`Order ${orderId}\\b`) })
      .last();
    await expect(async () => {
      await p.reload();
      await expect(parcel).toBeVisible({ timeout: 5_000 });
    }).toPass({ timeout: 60_000 });
    await visited(p, "admin-fulfilment", "admin-fulfilment.png");

    await parcel.getByRole("button", { name: "Pick" }).click();
    await parcel.getByRole("button", { name: "Pack" }).click();
    await parcel.getByRole("button", { name: "Ship" }).click();
    await fillOrSelect(p.getByLabel("Carrier", { exact: true }), "manual");
    await p.getByLabel("Tracking number", { exact: true }).fill(tracking);
    await visited(p, "admin-ship");
    await p.getByRole("button", { name: "Confirm shipment" }).click();
    // Shipped: the form closes (the customer's page shows the outcome next).
    await expect(p.getByRole("button", { name: "Confirm shipment" })).toHaveCount(0);
  } finally {
    await office.close();
  }
});

test("the customer sees it shipped, and asks for a return once delivered", async ({ request }) => {
  await orderShows("shipped");
  await expect(page.getByText(new RegExp(`Tracking number:?\\s*${tracking}`)).first()).toBeVisible();
  await visited(page, "order-shipped");

  // The carrier's delivery scan, as staff record it through the API.
  const login = await request.post("/api/auth/login", { data: staff });
  expect(login.ok()).toBeTruthy();
  const token = ((await login.json()) as { access_token: string }).access_token;
  const headers = { Authorization: `Bearer ${token}` };
  const res = await request.get(`/api/orders/${orderId}`, { headers });
  expect(res.ok()).toBeTruthy();
  const order = (await res.json()) as { shipments: { id: string }[] };
  for (const s of order.shipments) {
    const delivered = await request.post(`/api/shipments/${s.id}/deliver`, { headers, data: {} });
    expect(delivered.ok(), await delivered.text()).toBeTruthy();
  }

  await orderShows("delivered");
  await page.getByRole("button", { name: "Request a return" }).click();
  await page.getByLabel(`Return quantity of ${product}`).fill("1");
  await fillOrSelect(page.getByLabel("Reason", { exact: true }), "Too small");
  await visited(page, "return-form");
  await page.getByRole("button", { name: "Submit return request" }).click();
  await expect(page.getByText(/requested/i).first()).toBeVisible();
  await visited(page, "order-return");
});

test("an admin sees the sale on the analytics dashboard", async ({ browser }) => {
  const office = await newSession(browser);
  try {
    const p = await office.newPage();
    await signIn(p, admin, "/admin");
    await expect(p.getByRole("heading", { level: 1, name: "Analytics" })).toBeVisible();
    const top = p.getByRole("table", { name: "Top products" });
    await expect(top).toBeVisible();
    await expect(top.getByText(product)).toBeVisible();
    for (const label of ["From", "To"]) {
      await expect.soft(p.getByLabel(label, { exact: true })).toBeVisible();
    }
    await expect.soft(p.getByRole("link", { name: "Export CSV" }).or(p.getByRole("button", { name: "Export CSV" })).first()).toBeVisible();
    await visited(p, "admin-dashboard", "admin-dashboard.png");
  } finally {
    await office.close();
  }
});
