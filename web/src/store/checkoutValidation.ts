// Client-side checks of a shipping address, mirroring the API's address
// rules (internal/address): the same required fields, lengths, country
// codes, regions and postal code formats, so most mistakes are caught
// before the order is sent. The API stays the judge; its field errors are
// shown next to the same fields.

export interface AddressInput {
  name: string;
  line1: string;
  line2: string;
  city: string;
  region: string;
  postal_code: string;
  country: string;
  phone: string;
}

export type AddressField = keyof AddressInput;
export type AddressErrors = Partial<Record<AddressField, string>>;

export const emptyAddress: AddressInput = { name: "", line1: "", line2: "", city: "", region: "", postal_code: "", country: "", phone: "" };

const usStates: Record<string, string> = {
  AL: "Alabama", AK: "Alaska", AZ: "Arizona", AR: "Arkansas", CA: "California", CO: "Colorado", CT: "Connecticut",
  DE: "Delaware", DC: "District of Columbia", FL: "Florida", GA: "Georgia", HI: "Hawaii", ID: "Idaho", IL: "Illinois",
  IN: "Indiana", IA: "Iowa", KS: "Kansas", KY: "Kentucky", LA: "Louisiana", ME: "Maine", MD: "Maryland",
  MA: "Massachusetts", MI: "Michigan", MN: "Minnesota", MS: "Mississippi", MO: "Missouri", MT: "Montana",
  NE: "Nebraska", NV: "Nevada", NH: "New Hampshire", NJ: "New Jersey", NM: "New Mexico", NY: "New York",
  NC: "North Carolina", ND: "North Dakota", OH: "Ohio", OK: "Oklahoma", OR: "Oregon", PA: "Pennsylvania",
  RI: "Rhode Island", SC: "South Carolina", SD: "South Dakota", TN: "Tennessee", TX: "Texas", UT: "Utah",
  VT: "Vermont", VA: "Virginia", WA: "Washington", WV: "West Virginia", WI: "Wisconsin", WY: "Wyoming",
  AS: "American Samoa", GU: "Guam", MP: "Northern Mariana Islands", PR: "Puerto Rico", VI: "U.S. Virgin Islands",
  AA: "Armed Forces Americas", AE: "Armed Forces Europe", AP: "Armed Forces Pacific",
};
const caProvinces: Record<string, string> = {
  AB: "Alberta", BC: "British Columbia", MB: "Manitoba", NB: "New Brunswick", NL: "Newfoundland and Labrador",
  NS: "Nova Scotia", NT: "Northwest Territories", NU: "Nunavut", ON: "Ontario", PE: "Prince Edward Island",
  QC: "Quebec", SK: "Saskatchewan", YT: "Yukon",
};
const auStates: Record<string, string> = {
  ACT: "Australian Capital Territory", NSW: "New South Wales", NT: "Northern Territory", QLD: "Queensland",
  SA: "South Australia", TAS: "Tasmania", VIC: "Victoria", WA: "Western Australia",
};
const subdivisions: Record<string, { names: Record<string, string>; what: string; example: string }> = {
  US: { names: usStates, what: "US state code", example: "CA" },
  CA: { names: caProvinces, what: "Canadian province code", example: "ON" },
  AU: { names: auStates, what: "Australian state code", example: "NSW" },
};
const usTerritories = new Set(["AS", "GU", "MP", "PR", "VI"]);

// Two-letter codes that are not (or no longer) countries.
const notCountries = new Set(
  "AC AN BU CP CQ CS CT DD DG DY EA EZ FQ FX HV IC JT MI NH NQ NT PC PU PZ RH SU TA TP UK UN VD WK YD YU ZR EU QO ZZ AA QM QN QP QQ QR QS QT QU QV QW QX QY QZ XA XB XC XD XE XF XG XH XI XJ XL XM XN XO XP XQ XR XS XT XU XV XW XX XY XZ".split(" "),
);
let regionNames: Intl.DisplayNames | null | undefined;

/** Whether code (upper case) is an ISO 3166-1 alpha-2 country code. */
export function isCountry(code: string): boolean {
  if (!/^[A-Z]{2}$/.test(code) || notCountries.has(code)) return false;
  if (code === "XK") return true;
  if (regionNames === undefined) {
    try {
      regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });
    } catch {
      regionNames = null;
    }
  }
  if (!regionNames) return true; // no table here: the API decides
  const name = regionNames.of(code);
  return !!name && name !== code;
}

interface PostalFormat {
  re: RegExp;
  example: string;
}
const d4 = { re: /^\d{4}$/, example: "1234" };
const d5 = { re: /^\d{5}$/, example: "12345" };
const d6 = { re: /^\d{6}$/, example: "123456" };
const postalFormats: Record<string, PostalFormat> = {
  US: { re: /^\d{5}(-\d{4})?$/, example: "90001 or 90001-1234" },
  CA: { re: /^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$/, example: "K1A 0B1" },
  GB: { re: /^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)$/, example: "SW1A 2AA" },
  AU: d4, NZ: d4, AT: d4, BE: d4, CH: d4, DK: d4, NO: d4,
  DE: d5, FR: d5, IT: d5, ES: d5, FI: d5, MX: d5,
  SE: { re: /^\d{3} ?\d{2}$/, example: "114 55" },
  NL: { re: /^\d{4} ?[A-Z]{2}$/, example: "1012 AB" },
  PL: { re: /^\d{2}-?\d{3}$/, example: "00-950" },
  PT: { re: /^\d{4}-?\d{3}$/, example: "1100-148" },
  JP: { re: /^\d{3}-?\d{4}$/, example: "100-0001" },
  BR: { re: /^\d{5}-?\d{3}$/, example: "01310-100" },
  IN: d6, CN: d6,
};
const freePostal = /^[A-Za-z0-9][A-Za-z0-9 -]*$/;

// USPS three-digit ZIP prefixes by state, and the five-digit exceptions.
const zipRanges: [number, number, string][] = [[5, 5, "NY"], [6, 7, "PR"], [8, 8, "VI"], [9, 9, "PR"], [10, 27, "MA"], [28, 29, "RI"], [30, 38, "NH"], [39, 49, "ME"], [50, 54, "VT"], [55, 55, "MA"], [56, 59, "VT"], [60, 69, "CT"], [70, 89, "NJ"], [90, 99, "AE"], [100, 149, "NY"], [150, 196, "PA"], [197, 199, "DE"], [200, 200, "DC"], [201, 201, "VA"], [202, 205, "DC"], [206, 219, "MD"], [220, 246, "VA"], [247, 268, "WV"], [270, 289, "NC"], [290, 299, "SC"], [300, 319, "GA"], [320, 339, "FL"], [340, 340, "AA"], [341, 349, "FL"], [350, 369, "AL"], [370, 385, "TN"], [386, 397, "MS"], [398, 399, "GA"], [400, 427, "KY"], [430, 459, "OH"], [460, 479, "IN"], [480, 499, "MI"], [500, 528, "IA"], [530, 549, "WI"], [550, 567, "MN"], [569, 569, "DC"], [570, 577, "SD"], [580, 588, "ND"], [590, 599, "MT"], [600, 629, "IL"], [630, 658, "MO"], [660, 679, "KS"], [680, 693, "NE"], [700, 715, "LA"], [716, 729, "AR"], [730, 732, "OK"], [733, 733, "TX"], [734, 749, "OK"], [750, 799, "TX"], [800, 816, "CO"], [820, 831, "WY"], [832, 838, "ID"], [840, 847, "UT"], [850, 865, "AZ"], [870, 884, "NM"], [885, 885, "TX"], [889, 898, "NV"], [900, 961, "CA"], [962, 966, "AP"], [967, 968, "HI"], [969, 969, "GU"], [970, 979, "OR"], [980, 994, "WA"], [995, 999, "AK"]];
const zipExceptions: Record<string, string[]> = {
	"06390": ["NY"], 
	"83414": ["WY"], 
	"96799": ["AS"], 
	"96950": ["MP"], "96951": ["MP"], "96952": ["MP"],
	"03579": ["NH", "ME"], "20135": ["VA", "WV"], "24604": ["VA", "WV"], "30165": ["GA", "AL"],
	"31905": ["GA", "AL"], "42223": ["KY", "TN"], "52626": ["IA", "MO"], "57638": ["SD", "ND"],
	"57724": ["SD", "MT"], "58623": ["ND", "SD"], "58653": ["ND", "SD"], "59221": ["MT", "ND"],
	"63673": ["MO", "IL"], "69201": ["NE", "SD"], "69212": ["NE", "SD"], "69216": ["NE", "SD"],
	"71749": ["AR", "LA"], "73949": ["OK", "TX"], "73960": ["TX", "OK"], "81137": ["CO", "NM"],
	"82063": ["WY", "CO"], "82082": ["WY", "NE"], "82930": ["WY", "UT"], "83120": ["WY", "ID"],
	"83342": ["ID", "UT"], "84034": ["UT", "NV"], "84536": ["UT", "AZ"], "86044": ["AZ", "UT"],
	"86514": ["AZ", "NM", "UT"], "86515": ["AZ", "NM"], "87328": ["NM", "AZ"], "88063": ["NM", "TX"],
	"89010": ["NV", "CA"], "89019": ["NV", "CA"], "89060": ["NV", "CA"], "89061": ["NV", "CA"],
	"89439": ["NV", "CA"], "97635": ["OR", "CA"], "97910": ["OR", "ID"], "99128": ["WA", "ID"],
	"99362": ["WA", "OR"],
};
const caDistricts: Record<string, string[]> = {
  A: ["NL"], B: ["NS"], C: ["PE"], E: ["NB"], G: ["QC"], H: ["QC"], J: ["QC"], K: ["ON"], L: ["ON"], M: ["ON"],
  N: ["ON"], P: ["ON"], R: ["MB"], S: ["SK"], T: ["AB"], V: ["BC"], X: ["NT", "NU"], Y: ["YT"],
};

/** The states a ZIP code may lie in; none when its prefix is not in use. */
export function zipStates(zip: string): string[] {
  const five = zip.slice(0, 5);
  const ex = zipExceptions[five];
  if (ex) return ex;
  const p = Number(five.slice(0, 3));
  return zipRanges.filter(([from, to]) => p >= from && p <= to).map(([, , s]) => s);
}

function postalStates(country: string, code: string): string[] | null {
  if (country === "US") return zipStates(code);
  if (country === "CA") return caDistricts[code.charAt(0)] ?? [];
  return null;
}

function subdivision(country: string, region: string): string | null {
  const sub = subdivisions[country];
  if (!sub) return region;
  let r = region.trim().toUpperCase();
  if (r.startsWith(country + "-")) r = r.slice(country.length + 1);
  if (sub.names[r]) return r;
  for (const [code, name] of Object.entries(sub.names)) if (name.toLowerCase() === region.trim().toLowerCase()) return code;
  return null;
}

function badText(v: string, max: number): string | null {
  if (v.length > max) return `must be at most ${max} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) return "must not contain control characters";
  return null;
}

const maxLen: Record<AddressField, number> = { name: 200, line1: 200, line2: 200, city: 100, region: 100, postal_code: 20, country: 2, phone: 40 };

/**
 * Checks a shipping address as the API will (a deliverable address: line 1,
 * city, country, and the region and postal code where the country has
 * them). Answers an error per field; empty when the address is fine.
 */
export function validateAddress(input: AddressInput): AddressErrors {
  const a = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, String(v ?? "").trim()])) as unknown as AddressInput;
  const errs: AddressErrors = {};
  for (const f of ["name", "line1", "line2", "city", "postal_code", "phone"] as const) {
    const e = badText(a[f], maxLen[f]);
    if (e) errs[f] = e;
  }
  if (!a.name) errs.name ??= "is required";
  if (!a.line1) errs.line1 ??= "is required";
  if (!a.city) errs.city ??= "is required";
  if (a.phone && !errs.phone) {
    const ok = /^[0-9+\-(). ]*$/.test(a.phone) && (a.phone.match(/\d/g)?.length ?? 0) >= 4;
    if (!ok) errs.phone = "must be digits, spaces and + - ( ) . only";
  }

  let country = a.country.toUpperCase();
  let region = a.region;
  if (!country) {
    errs.country = "is required";
    return errs;
  }
  if (!isCountry(country)) {
    errs.country = `“${a.country}” is not a two-letter country code such as US`;
    return errs;
  }
  if (usTerritories.has(country)) {
    if (region && region.toUpperCase() !== country && region.toUpperCase() !== "US-" + country) {
      errs.region = `“${a.region}” is not a region of ${country}`;
      return errs;
    }
    region = country;
    country = "US";
  }
  const sub = subdivisions[country];
  if (region && sub) {
    const code = subdivision(country, region);
    if (!code) {
      errs.region = `“${a.region}” is not a ${sub.what}; use a code such as ${sub.example}`;
      return errs;
    }
    region = code;
  } else if (region) {
    const e = badText(region, maxLen.region);
    if (e) errs.region = e;
  }
  if (errs.postal_code) return errs;

  const pf = postalFormats[country];
  let postal = a.postal_code;
  if (postal) {
    if (!pf) {
      if (!freePostal.test(postal)) errs.postal_code = "must be letters, digits, spaces and hyphens";
      return errs;
    }
    postal = postal.toUpperCase().split(/\s+/).join(" ");
    if (!pf.re.test(postal)) {
      errs.postal_code = `“${a.postal_code}” is not a postal code of ${country} (such as ${pf.example})`;
      return errs;
    }
    if (country === "US" && zipStates(postal).length === 0) {
      errs.postal_code = `ZIP code ${a.postal_code} is not in use`;
      return errs;
    }
  } else if (pf) {
    errs.postal_code = `is required for an address in ${country}`;
    return errs;
  }
  const states = postal ? postalStates(country, postal) : null;
  if (!region && states && states.length === 1) region = states[0] ?? "";
  if (!region && sub) {
    errs.region = `is required for an address in ${country} (a ${sub.what} such as ${sub.example})`;
    return errs;
  }
  if (region && states && states.length > 0 && !states.includes(region)) {
    errs.postal_code = `${postal} is not in ${region}`;
  }
  return errs;
}

/** Turns the API's field names ("shipping.postal_code") into this form's. */
export function addressErrorsFromApi(fields: Record<string, string>, prefix = "shipping."): AddressErrors {
  const out: AddressErrors = {};
  for (const [k, v] of Object.entries(fields)) {
    const f = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (f in emptyAddress) out[f as AddressField] = v;
  }
  return out;
}
