import { useSyncExternalStore } from "react";
import { useQuery } from "@connectrpc/connect-query";
import { session } from "../api/transport";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";

/** Whether someone is signed in, re-rendering on sign-in, sign-out and other tabs' changes. */
export function useSignedIn(): boolean {
  return useSyncExternalStore(
    (l) => session.subscribe(l),
    () => session.signedIn,
  );
}

/** The signed-in user (AuthService.Me), or undefined while signed out or loading. */
export function useMe() {
  const signedIn = useSignedIn();
  return useQuery(AuthService.method.me, {}, { enabled: signedIn });
}
