import type { Address as BookAddress } from "../gen/shop/auth/v1/auth_pb";
import type { AddressInput } from "./checkoutValidation";

export function fromBook(a: BookAddress): AddressInput {
  return { name: a.fullName, line1: a.line1, line2: a.line2, city: a.city, region: a.region, postal_code: a.postalCode, country: a.country, phone: a.phone };
}

export function toBook(a: AddressInput) {
  return {
    fullName: a.name.trim(),
    line1: a.line1.trim(),
    line2: a.line2.trim(),
    city: a.city.trim(),
    region: a.region.trim(),
    postalCode: a.postal_code.trim(),
    country: a.country.trim().toUpperCase(),
    phone: a.phone.trim(),
  };
}

/** The order API's structured address (shop.cart.v1.Address). */
export function toOrderAddress(a: AddressInput) {
  const b = toBook(a);
  return { name: b.fullName, line1: b.line1, line2: b.line2, city: b.city, region: b.region, postalCode: b.postalCode, country: b.country, phone: b.phone };
}

/** The API's field names for the address book ("full_name") in the form's terms. */
export function bookFieldErrors(fields: Record<string, string>) {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    const f = k.replace(/^address\./, "");
    out[f === "full_name" ? "name" : f] = v;
  }
  return out;
}
