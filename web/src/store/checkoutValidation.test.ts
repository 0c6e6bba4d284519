import { describe, expect, it } from "vitest";
import { addressErrorsFromApi, emptyAddress, isCountry, validateAddress, zipStates, type AddressInput } from "./checkoutValidation";

const good: AddressInput = {
  ...emptyAddress,
  name: "Ada Lovelace",
  line1: "1 Main St",
  city: "Los Angeles",
  region: "CA",
  postal_code: "90001",
  country: "US",
  phone: "+1 (555) 010-9999",
};

describe("checkout address validation", () => {
  it("accepts a complete US address", () => {
    expect(validateAddress(good)).toEqual({});
  });

  it("requires name, line 1, city and country", () => {
    expect(validateAddress(emptyAddress)).toEqual({ name: "is required", line1: "is required", city: "is required", country: "is required" });
  });

  it("checks the country code", () => {
    expect(validateAddress({ ...good, country: "USA" }).country).toMatch(/not a two-letter country code/);
    expect(validateAddress({ ...good, country: "UK" }).country).toMatch(/not a two-letter country code/);
    expect(isCountry("GB")).toBe(true);
    expect(isCountry("DE")).toBe(true);
    expect(isCountry("ZZ")).toBe(false);
  });

  it("accepts a lower-case country and region name", () => {
    expect(validateAddress({ ...good, country: "us", region: "California" })).toEqual({});
  });

  it("checks postal code formats per country", () => {
    expect(validateAddress({ ...good, postal_code: "9000" }).postal_code).toMatch(/not a postal code of US \(such as 90001 or 90001-1234\)/);
    expect(validateAddress({ ...good, country: "GB", region: "", postal_code: "sw1a2aa", city: "London" })).toEqual({});
    expect(validateAddress({ ...good, country: "DE", region: "", postal_code: "1011" }).postal_code).toMatch(/such as 12345/);
    expect(validateAddress({ ...good, country: "CA", region: "ON", postal_code: "K1A 0B1" })).toEqual({});
    expect(validateAddress({ ...good, country: "IE", region: "", postal_code: "D02 X285" })).toEqual({});
    expect(validateAddress({ ...good, country: "IE", region: "", postal_code: "D02_X285" }).postal_code).toBe("must be letters, digits, spaces and hyphens");
  });

  it("requires the postal code where the country has them", () => {
    expect(validateAddress({ ...good, postal_code: "" }).postal_code).toBe("is required for an address in US");
    expect(validateAddress({ ...good, country: "IE", region: "", postal_code: "" })).toEqual({});
  });

  it("holds the ZIP code to the state", () => {
    expect(validateAddress({ ...good, region: "NY" }).postal_code).toBe("90001 is not in NY");
    expect(validateAddress({ ...good, postal_code: "00100" }).postal_code).toBe("ZIP code 00100 is not in use");
    expect(zipStates("10001")).toEqual(["NY"]);
  });

  it("derives the region from a ZIP code but requires it where it cannot", () => {
    expect(validateAddress({ ...good, region: "" })).toEqual({});
    expect(validateAddress({ ...good, country: "AU", region: "", postal_code: "2000" }).region).toMatch(/is required for an address in AU/);
    expect(validateAddress({ ...good, country: "AU", region: "Narnia", postal_code: "2000" }).region).toMatch(/not a Australian state code/);
  });

  it("checks phone numbers and lengths", () => {
    expect(validateAddress({ ...good, phone: "call me" }).phone).toBe("must be digits, spaces and + - ( ) . only");
    expect(validateAddress({ ...good, phone: "12" }).phone).toBeDefined();
    expect(validateAddress({ ...good, city: "x".repeat(101) }).city).toBe("must be at most 100 characters");
  });

  it("treats a US territory as a US state", () => {
    expect(validateAddress({ ...good, country: "PR", region: "", postal_code: "00901" })).toEqual({});
  });

  it("maps the API's field errors onto the form", () => {
    expect(addressErrorsFromApi({ "shipping.postal_code": "bad", "shipping.city": "is required", coupon_code: "x" })).toEqual({
      postal_code: "bad",
      city: "is required",
    });
  });
});
