import { describe, expect, it } from "vitest";
import { addressErrorsFromApi, emptyAddress, validateAddress, type AddressInput } from "./checkoutValidation";

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
  it("accepts a complete address", () => {
    expect(validateAddress(good)).toEqual({});
  });

  it("requires name, line 1, city and country", () => {
    expect(validateAddress(emptyAddress)).toEqual({ name: "is required", line1: "is required", city: "is required", country: "is required" });
    expect(validateAddress({ ...good, city: "   " }).city).toBe("is required");
  });

  it("leaves postal codes, regions and phone formats to the API", () => {
    // Formats the client cannot know for sure are sent as typed.
    expect(validateAddress({ ...good, postal_code: "9000", region: "NY" })).toEqual({});
    expect(validateAddress({ ...good, country: "ie", region: "", postal_code: "" })).toEqual({});
    expect(validateAddress({ ...good, region: "", postal_code: "03579" })).toEqual({});
    expect(validateAddress({ ...good, phone: "call me" })).toEqual({});
  });

  it("checks lengths and control characters", () => {
    expect(validateAddress({ ...good, city: "x".repeat(101) }).city).toBe("must be at most 100 characters");
    expect(validateAddress({ ...good, city: "x".repeat(100) })).toEqual({});
    expect(validateAddress({ ...good, country: "USA" }).country).toBe("must be a two-letter country code such as US");
    expect(validateAddress({ ...good, line1: "1 Main\u0007St" }).line1).toBe("must not contain control characters");
  });

  it("maps the API's field errors onto the form", () => {
    expect(addressErrorsFromApi({ "shipping.postal_code": "bad", "shipping.city": "is required", coupon_code: "x" })).toEqual({
      postal_code: "bad",
      city: "is required",
    });
  });
});
