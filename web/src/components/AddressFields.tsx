import type { AddressErrors, AddressField, AddressInput } from "../store/checkoutValidation";
import { Field } from "./Field";

const fields: { f: AddressField; label: string; autoComplete: string; required?: boolean; type?: string }[] = [
  { f: "name", label: "Full name", autoComplete: "name", required: true },
  { f: "line1", label: "Address line 1", autoComplete: "address-line1", required: true },
  { f: "line2", label: "Address line 2", autoComplete: "address-line2" },
  { f: "city", label: "City", autoComplete: "address-level2", required: true },
  { f: "region", label: "Region", autoComplete: "address-level1" },
  { f: "postal_code", label: "Postal code", autoComplete: "postal-code" },
  { f: "country", label: "Country", autoComplete: "country" },
  { f: "phone", label: "Phone", autoComplete: "tel", type: "tel" },
];

/** The postal address inputs, shared by checkout and the address book. */
export function AddressFields({
  value,
  onChange,
  errors,
  idPrefix,
}: {
  value: AddressInput;
  onChange: (a: AddressInput) => void;
  errors: AddressErrors;
  idPrefix?: string;
}) {
  return (
    <div className="address-fields">
      {fields.map(({ f, label, autoComplete, required, type }) => (
        <Field
          key={f}
          name={(idPrefix ?? "") + f}
          label={label}
          autoComplete={autoComplete}
          required={required || f === "country"}
          type={type ?? "text"}
          maxLength={f === "country" ? 2 : undefined}
          placeholder={f === "country" ? "US" : undefined}
          value={value[f]}
          error={errors[f]}
          onChange={(e) => onChange({ ...value, [f]: e.target.value })}
        />
      ))}
    </div>
  );
}
