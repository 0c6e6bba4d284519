import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { Session } from "../auth/session";

const baseUrl = globalThis.location?.origin ?? "http://localhost:3000";

// Refresh goes through a transport of its own, without the auth interceptor.
const bare = createConnectTransport({ baseUrl });
const authClient = createClient(AuthService, bare);

export const session = new Session(async (refreshToken) => {
  const r = await authClient.refresh({ refreshToken });
  return { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresIn: r.expiresIn };
});

/**
 * Adds the bearer token, refreshing it shortly before it expires; when the API
 * still answers Unauthenticated (the token was revoked or the clock is off),
 * refreshes once and retries the call once.
 */
export function authInterceptor(s: Session): Interceptor {
  return (next) => async (req) => {
    const token = await s.accessToken();
    if (!token) return next(req);
    req.header.set("Authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (!(err instanceof ConnectError) || err.code !== Code.Unauthenticated || req.stream) throw err;
      const fresh = await s.refresh(s.tokens?.refreshToken ?? "");
      if (!fresh) throw err;
      req.header.set("Authorization", `Bearer ${fresh.accessToken}`);
      return next(req);
    }
  };
}

export const transport = createConnectTransport({ baseUrl, interceptors: [authInterceptor(session)] });

export function client<T extends DescService>(service: T) {
  return createClient(service, transport);
}
