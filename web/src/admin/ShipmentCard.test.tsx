import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { create } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router";
import { FulfilmentService, ShipmentSchema, type ShipShipmentRequest } from "../gen/shop/fulfilment/v1/fulfilment_pb";
import { ShipmentCard } from "./ShipmentCard";

function renderCard(status: string, onShip?: (r: ShipShipmentRequest) => void) {
  const shipment = create(ShipmentSchema, {
    id: 7n,
    orderId: 42n,
    status,
    locationCode: "MAIN",
    lines: [{ line: 1, name: "Travel Mug", sku: "MUG-1", quantity: 2 }],
  });
  const transport = createRouterTransport(({ service }) => {
    service(FulfilmentService, {
      shipShipment: (req) => {
        onShip?.(req);
        return { shipment: { ...shipment, status: "shipped", carrier: req.carrier, trackingNumber: req.trackingNumber } };
      },
    });
  });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter>
          <ShipmentCard shipment={shipment} />
        </MemoryRouter>
      </QueryClientProvider>
    </TransportProvider>,
  );
}

const buttons = () => ["Pick", "Pack", "Ship", "Mark delivered"].filter((name) => screen.queryByRole("button", { name }));

describe("ShipmentCard", () => {
  it("names the order in its heading", () => {
    renderCard("pending");
    expect(screen.getByRole("heading", { name: /Order 42/ })).toBeInTheDocument();
  });

  it.each([
    ["pending", ["Pick"]],
    ["picked", ["Pack"]],
    ["packed", ["Ship"]],
    ["shipped", ["Mark delivered"]],
    ["delivered", []],
    ["cancelled", []],
  ])("a %s shipment offers %j", (status, want) => {
    renderCard(status);
    expect(buttons()).toEqual(want);
  });

  it("ships with a carrier and a tracking number", async () => {
    const user = userEvent.setup();
    const sent: ShipShipmentRequest[] = [];
    renderCard("packed", (r) => sent.push(r));
    await user.click(screen.getByRole("button", { name: "Ship" }));
    await user.type(screen.getByLabelText("Carrier"), "dhl");
    await user.type(screen.getByLabelText("Tracking number"), "TRK123");
    await user.click(screen.getByRole("button", { name: "Confirm shipment" }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ id: 7n, carrier: "dhl", trackingNumber: "TRK123" });
    expect(await screen.findByRole("status")).toHaveTextContent("Shipped");
  });
});
