// Sign-in for the dashboard.
//
// Deployed: Cognito's Hosted UI, OAuth 2.0 authorization code flow with PKCE (RFC 7636) for a public
// app client (no secret). Tokens live in this module's memory only: never in localStorage,
// sessionStorage or cookies. A reload signs in again (the Hosted UI's own session makes that one
// redirect). Only the PKCE verifier and the state survive the redirect, in sessionStorage, and are
// removed as soon as the code is exchanged.
//
// Local (`make dev`): config.json says {"mode": "dev"} and carries an unsigned analyst token that
// only the DEV ONLY local API accepts. The deployed config.json comes from the stack's output
// DashboardConfig, which has no such mode; and dev mode refuses to run on any host but loopback.

const PENDING_KEY = "signupflow.dashboard.pkce";
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const REFRESH_MARGIN_SECONDS = 60;

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function decodeJwtPayload(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export class AuthError extends Error {}

// The dev-only session: a fixed unsigned token from the local config.
function devSession(auth) {
  if (!LOOPBACK.has(location.hostname)) {
    throw new AuthError("This configuration is for local development only (it has no real sign-in).");
  }
  const claims = decodeJwtPayload(auth.devToken);
  return {
    dev: true,
    user: auth.user || "dev analyst",
    claims,
    token: async () => auth.devToken,
    signOut: null,
  };
}

class CognitoSession {
  constructor(auth) {
    this.auth = auth;
    this.base = `https://${auth.domain}`;
    this.tokens = null; // {id_token, access_token, refresh_token, expires_at}
  }

  get user() {
    const claims = decodeJwtPayload(this.tokens?.id_token ?? "");
    return claims.email || claims["cognito:username"] || claims.sub || "";
  }

  get claims() {
    return decodeJwtPayload(this.tokens?.id_token ?? "");
  }

  async signIn() {
    const verifier = randomString(48);
    const state = randomString(16);
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(`${this.base}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.auth.clientId,
      redirect_uri: this.auth.redirectUri,
      scope: (this.auth.scopes || ["openid", "email"]).join(" "),
      state,
      code_challenge: await challengeOf(verifier),
      code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
  }

  // Back from the Hosted UI with ?code=...&state=...: exchange the code. Returns false when the URL
  // carries no answer from the Hosted UI.
  async completeSignIn() {
    const params = new URLSearchParams(location.search);
    if (!params.has("code") && !params.has("error")) return false;
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
    sessionStorage.removeItem(PENDING_KEY);
    history.replaceState(null, "", location.pathname); // the code is single-use: drop it from the URL
    if (params.has("error")) {
      throw new AuthError(`Sign-in failed: ${params.get("error_description") || params.get("error")}`);
    }
    if (!pending || pending.state !== params.get("state")) {
      throw new AuthError("Sign-in failed: the answer does not match the request (state). Sign in again.");
    }
    await this.requestTokens({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: this.auth.redirectUri,
      code_verifier: pending.verifier,
    });
    return true;
  }

  async requestTokens(form) {
    const response = await fetch(`${this.base}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: this.auth.clientId, ...form }),
      credentials: "omit",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new AuthError(`Sign-in failed: ${body.error_description || body.error || response.status}`);
    }
    this.tokens = {
      id_token: body.id_token,
      access_token: body.access_token,
      refresh_token: body.refresh_token || this.tokens?.refresh_token,
      expires_at: Date.now() / 1000 + Number(body.expires_in || 3600),
    };
  }

  // The ID token (it carries cognito:groups; its audience is the app client, which the API's JWT
  // authorizer accepts), refreshed shortly before it expires.
  async token() {
    if (!this.tokens) throw new AuthError("Not signed in.");
    if (this.tokens.expires_at - REFRESH_MARGIN_SECONDS < Date.now() / 1000) {
      if (!this.tokens.refresh_token) throw new AuthError("The session expired. Sign in again.");
      await this.requestTokens({ grant_type: "refresh_token", refresh_token: this.tokens.refresh_token });
    }
    return this.tokens.id_token;
  }

  signOut() {
    this.tokens = null;
    const url = new URL(`${this.base}/logout`);
    url.search = new URLSearchParams({ client_id: this.auth.clientId, logout_uri: this.auth.redirectUri }).toString();
    location.assign(url.toString());
  }
}

// {session, signIn}: session is null while nobody is signed in; signIn() starts the Hosted UI.
export async function startAuth(config) {
  const auth = config.auth || {};
  if (auth.mode === "dev") return { session: devSession(auth), signIn: null };
  if (auth.mode !== "cognito" || !auth.domain || !auth.clientId || !auth.redirectUri) {
    throw new AuthError("config.json has no usable sign-in settings (auth.mode, domain, clientId, redirectUri).");
  }
  const cognito = new CognitoSession(auth);
  const signIn = () => cognito.signIn();
  if (await cognito.completeSignIn()) {
    return {
      session: {
        dev: false,
        get user() { return cognito.user; },
        get claims() { return cognito.claims; },
        token: () => cognito.token(),
        signOut: () => cognito.signOut(),
      },
      signIn,
    };
  }
  return { session: null, signIn };
}
