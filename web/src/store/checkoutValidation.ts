// Client-side checks of a shipping address: only what needs no knowledge of
// any country (required fields, lengths, no control characters), so a
// mistake is pointed out before sending. Postal codes, regions and country
// codes are the API's to judge (internal/address); its field errors are
// shown next to the same fields (addressErrorsFromApi).

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

const required: AddressField[] = ["name", "line1", "city", "country"];
const maxLen: Record<AddressField, number> = { name: 200, line1: 200, line2: 200, city: 100, region: 100, postal_code: 20, country: 2, phone: 40 };

/** An error per field that certainly cannot be sent as is; empty when the API may judge the address. */
export function validateAddress(input: AddressInput): AddressErrors {
  const errs: AddressErrors = {};
  for (const f of Object.keys(maxLen) as AddressField[]) {
    const v = String(input[f] ?? "").trim();
    if (!v) {
      if (required.includes(f)) errs[f] = "is required";
    } else if (v.length > maxLen[f]) {
      errs[f] = f === "country" ? "must be a two-letter country code such as US" : `must be at most ${maxLen[f]} characters`;
      // eslint-disable-next-line no-control-regex
    } else if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) {
      errs[f] = "must not contain control characters";
    }
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
