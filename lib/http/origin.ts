/**
 * Login CSRF: whether a browser says a request comes from a page of another site. Start,
 * verify and logout run on the browser's session, so another site's page must not drive them.
 */
import type { Request } from 'express';

/** The app's own origin as the browser sees it (scheme from `req.protocol`, which follows `trust proxy`). */
function ownOrigin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

/**
 * Whether `origin` is the app's own. A `Host` with a default port or capitals (some proxies
 * forward `example.com:443`) names the same origin as the browser's `https://example.com`, so
 * when the strings differ the Host alone is normalised by the URL parser: the scheme must be
 * exactly http or https (under `trust proxy` it comes from X-Forwarded-Proto, which a page
 * allowed to send that header could fill with a URL of its own), the Host a bare host and port,
 * and the Origin the serialised origin a browser sends. Anything else is refused.
 */
function isOwnOrigin(origin: string, req: Request): boolean {
  const own = ownOrigin(req);
  if (origin === own) return true;
  const protocol = req.protocol;
  if (protocol !== 'http' && protocol !== 'https') return false;
  try {
    const ours = new URL(own);
    if (ours.username || ours.password || ours.pathname !== '/' || ours.search || ours.hash) return false;
    return ours.origin === origin;
  } catch {
    return false;
  }
}

/**
 * Whether a browser says this request comes from a page of another site: `Sec-Fetch-Site:
 * cross-site`, or an `Origin` that is neither the app's own nor listed in `allowedOrigins`
 * (a sibling subdomain is `same-site` to the browser, so only `Origin` tells it apart).
 * Native apps and servers send neither header and are not affected.
 */
export function fromOtherSite(req: Request, allowed: ReadonlySet<string>): boolean {
  // The browser itself says the page is this origin (no page can set the header): an app
  // behind a TLS proxy without `trust proxy` sees its own `https://` Origin as another scheme.
  if (req.headers['sec-fetch-site'] === 'same-origin') return false;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return !isOwnOrigin(origin, req) && !allowed.has(origin);
  if (origin === 'null') return true;
  return req.headers['sec-fetch-site'] === 'cross-site';
}
