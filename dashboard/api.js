// The hub's GraphQL API and the staff session.
//
// Tokens live in this module's memory only: never in localStorage, sessionStorage or a
// cookie, so another tab, an extension reading storage or a later visitor of the machine
// finds nothing, and reloading the page means logging in again. The access token (15
// minutes) is renewed before it expires with the hub's refresh rotation: each refresh token
// works once, and one refresh at a time is in flight (a second use would revoke the session).

const ENDPOINT = "/graphql";

const TOKENS = "tokens { accessToken expiresIn refreshToken }";
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess { ${TOKENS} }
    ... on LoginErrors { errors { code message } }
  }
}`;
const COMPLETE_SSO = `mutation CompleteSsoLogin($code: String!) {
  completeSsoLogin(input: {code: $code}) {
    __typename
    ... on CompleteSsoLoginSuccess { ${TOKENS} }
    ... on CompleteSsoLoginErrors { errors { code message } }
  }
}`;
const REFRESH = `mutation Refresh($token: String!) {
  refreshToken(input: {refreshToken: $token}) {
    __typename
    ... on RefreshTokenSuccess { ${TOKENS} }
    ... on RefreshTokenErrors { errors { code message } }
  }
}`;
const LOGOUT = `mutation Logout($token: String!) { logout(input: {refreshToken: $token}) { __typename } }`;

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

let session = null; // {accessToken, refreshToken}
let refreshing = null;
let renewTimer = 0;
let whenEnded = () => {};

/** Called with a sentence when the session ends without the user logging out. */
export function onSessionEnd(callback) {
  whenEnded = callback;
}

export function loggedIn() {
  return session !== null;
}

async function post(document, variables, accessToken) {
  const headers = { "content-type": "application/json" };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: document, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The hub cannot be reached. Check your connection.", "NETWORK");
  }
  try {
    return await response.json();
  } catch {
    throw new ApiError(`The hub answered with an error (${response.status}).`, "HTTP");
  }
}

function unauthenticated(body) {
  return (body.errors || []).some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED");
}

function begin(tokens) {
  session = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  clearTimeout(renewTimer);
  // Renew at three quarters of the lifetime; a request meeting an expired token renews too.
  const seconds = Math.max(10, Math.floor(tokens.expiresIn * 0.75));
  renewTimer = setTimeout(() => refresh().catch(() => {}), seconds * 1000);
}

function end(message) {
  const had = session !== null;
  session = null;
  clearTimeout(renewTimer);
  if (had) whenEnded(message);
}

async function startWith(document, variables, field) {
  const body = await post(document, variables, null);
  if (body.errors && body.errors.length) throw new ApiError(body.errors[0].message, "ERROR");
  const result = body.data[field];
  if (result.tokens) {
    begin(result.tokens);
    return null;
  }
  return result.errors.map((e) => e.message).join(" ") || "Login failed.";
}

/** Log in with email and password; null on success, else the hub's message. */
export function login(email, password) {
  return startWith(LOGIN, { input: { email, password } }, "login");
}

/** Exchange a single sign-on login code; null on success, else the hub's message. */
export function completeSso(code) {
  return startWith(COMPLETE_SSO, { code }, "completeSsoLogin");
}

/** Renew the token pair (one refresh at a time: a refresh token works once). */
export function refresh() {
  if (!session) return Promise.reject(new ApiError("Not logged in.", "UNAUTHENTICATED"));
  if (!refreshing) {
    const used = session.refreshToken;
    refreshing = (async () => {
      const body = await post(REFRESH, { token: used }, null);
      const result = body.data && body.data.refreshToken;
      if (result && result.tokens) {
        begin(result.tokens);
        return;
      }
      end("Your session has ended. Please log in again.");
      throw new ApiError("Your session has ended.", "UNAUTHENTICATED");
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Run a query or mutation as the logged-in staff member; the data, or an ApiError. */
export async function request(document, variables = {}) {
  if (refreshing) await refreshing;
  if (!session) throw new ApiError("Not logged in.", "UNAUTHENTICATED");
  let body = await post(document, variables, session.accessToken);
  if (unauthenticated(body)) {
    await refresh();
    body = await post(document, variables, session.accessToken);
    if (unauthenticated(body)) {
      end("Your session has ended. Please log in again.");
      throw new ApiError("Your session has ended.", "UNAUTHENTICATED");
    }
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

/** End the session at the hub and forget the tokens. */
export async function logout() {
  if (refreshing) await refreshing.catch(() => {});
  const token = session && session.refreshToken;
  session = null;
  clearTimeout(renewTimer);
  if (token) await post(LOGOUT, { token }, null).catch(() => {});
}
