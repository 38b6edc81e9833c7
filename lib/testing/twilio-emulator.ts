/**
 * A small Twilio Messages API on 127.0.0.1: it checks what the real API checks (path,
 * Basic auth, form fields) and answers with Twilio's JSON shapes and error codes, so the
 * official SDK can be tested end to end without the internet. It keeps the messages it
 * accepted, so a test can read the code that was "sent".
 *
 * TWILIO_EDGE and TWILIO_REGION: the SDK reads them and rewrites api.twilio.com into
 * api.<edge>.<region>.twilio.com. The client from `httpClient()` swaps the whole origin for
 * the emulator's, so they do no harm with it and need not be deleted. A client built without
 * `httpClient()` goes to the real Twilio whatever they say.
 *
 * The twilio SDK is loaded only when `httpClient()` is first called.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadTwilio } from '../senders/twilio-sdk';
import type { TwilioHttpClient } from '../senders/twilio';

export const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const AUTH_TOKEN = 'emulator-auth-token-0123456789ab';
export const API_KEY = `SK${'b2'.repeat(16)}`;
export const API_SECRET = 'emulator-api-secret';
export const SERVICE_SID = `MG${'c3'.repeat(16)}`;

/**
 * How the emulator answers messages to one number: a Twilio error code (21211, 21408, 21610,
 * 21612, 21614, 20003, 20429 have Twilio's texts), an HTML 5xx, or a slow 201.
 */
export type EmulatorBehaviour = { twilioError: number } | { status: 500 | 502 | 503 } | { delayMs: number };

/** A request that passed authentication, as it arrived: URL path, Basic auth user, form fields. */
export interface ReceivedRequest {
  path: string;
  username: string;
  form: Record<string, string>;
}

/** A message the emulator accepted (answered 201), as the SDK sent it. */
export interface EmulatorMessage {
  /** Twilio's message SID, the `id` a sender resolves with. */
  sid: string;
  to: string;
  body: string;
  from?: string;
  messagingServiceSid?: string;
}

/** Twilio's own texts for the errors the tests use. */
const ERRORS: Record<number, { status: number; message: (to: string) => string }> = {
  21211: { status: 400, message: (to) => `The 'To' number ${to} is not a valid phone number.` },
  21408: {
    status: 400,
    message: (to) => `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
  },
  21610: { status: 400, message: () => 'Attempt to send to unsubscribed recipient' },
  21612: { status: 400, message: () => "The 'To' phone number is not currently reachable via SMS." },
  21614: { status: 400, message: (to) => `'To' number ${to} is not a valid mobile number` },
  20003: { status: 401, message: () => 'Authenticate' },
  20429: { status: 429, message: () => 'Too Many Requests' },
};

export interface TwilioEmulator {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every authenticated request, accepted or not, oldest first. */
  received: ReceivedRequest[];
  /** The messages accepted, oldest first. */
  messages: EmulatorMessage[];
  /** The newest accepted message, to `to` when given; undefined when there is none. */
  lastMessage(to?: string): EmulatorMessage | undefined;
  /** How the emulator answers messages to `to` from now on. */
  behave(to: string, behaviour: EmulatorBehaviour): void;
  /**
   * An SDK httpClient (a twilio.RequestClient, without retries) that sends every request to
   * this emulator instead of api.twilio.com: give it to twilioSender({ httpClient }).
   */
  httpClient(options?: { timeout?: number }): TwilioHttpClient;
  /** Stops the server; pending slow answers are dropped. */
  close(): Promise<void>;
}

function errorBody(code: number, to: string): { status: number; body: string } {
  const known = ERRORS[code] ?? { status: 400, message: () => 'Error' };
  return {
    status: known.status,
    body: JSON.stringify({
      code,
      message: known.message(to),
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status: known.status,
    }),
  };
}

/** Starts the emulator on a free port of 127.0.0.1. Close it when the tests end. */
export async function startTwilioEmulator(): Promise<TwilioEmulator> {
  const behaviours = new Map<string, EmulatorBehaviour>();
  const received: ReceivedRequest[] = [];
  const messages: EmulatorMessage[] = [];
  const credentials = new Map([
    [ACCOUNT_SID, AUTH_TOKEN],
    [API_KEY, API_SECRET],
  ]);
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const [username = '', password = ''] = auth
        ? Buffer.from(auth[1] as string, 'base64')
            .toString()
            .split(':')
        : [];
      if (!auth || credentials.get(username) !== password) return answer(401, errorBody(20003, '').body);
      const match = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match || match[1] !== ACCOUNT_SID) {
        return answer(404, JSON.stringify({ code: 20404, message: 'The requested resource was not found', status: 404 }));
      }
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        return answer(400, JSON.stringify({ code: 20001, message: 'Form body expected', status: 400 }));
      }
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const to = form.To ?? '';
      if (!to || !form.Body)
        return answer(400, JSON.stringify({ code: 21604, message: "A 'To' phone number and a 'Body' are required.", status: 400 }));
      if (Boolean(form.MessagingServiceSid) === Boolean(form.From)) {
        return answer(
          400,
          JSON.stringify({ code: 21603, message: "A 'From' phone number or a MessagingServiceSid is required.", status: 400 }),
        );
      }
      received.push({ path: req.url ?? '', username, form });
      const behaviour = behaviours.get(to);
      const ok = () => {
        const sid = `SM${randomBytes(16).toString('hex')}`;
        messages.push({
          sid,
          to,
          body: form.Body as string,
          ...(form.From ? { from: form.From } : {}),
          ...(form.MessagingServiceSid ? { messagingServiceSid: form.MessagingServiceSid } : {}),
        });
        answer(
          201,
          JSON.stringify({
            sid,
            account_sid: ACCOUNT_SID,
            to,
            from: form.From ?? null,
            messaging_service_sid: form.MessagingServiceSid ?? null,
            body: form.Body,
            status: 'accepted',
            num_segments: '1',
            num_media: '0',
            direction: 'outbound-api',
            api_version: '2010-04-01',
            price: null,
            price_unit: 'USD',
            error_code: null,
            error_message: null,
            date_created: new Date().toUTCString(),
            date_updated: new Date().toUTCString(),
            date_sent: null,
            uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}.json`,
            subresource_uris: { media: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}/Media.json` },
          }),
        );
      };
      if (!behaviour) return ok();
      if ('twilioError' in behaviour) {
        const { status, body } = errorBody(behaviour.twilioError, to);
        return answer(status, body);
      }
      if ('status' in behaviour) return answer(behaviour.status, '<html>Internal Server Error</html>', 'text/html');
      const timer = setTimeout(() => {
        timers.delete(timer);
        ok();
      }, behaviour.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    received,
    messages,
    lastMessage(to) {
      for (let i = messages.length - 1; i >= 0; i -= 1) {
        const message = messages[i] as EmulatorMessage;
        if (to === undefined || message.to === to) return message;
      }
      return undefined;
    },
    behave(to, behaviour) {
      behaviours.set(to, behaviour);
    },
    httpClient(options = {}) {
      const client = new (loadTwilio().RequestClient)({ autoRetry: false, ...options });
      const original = client.request.bind(client);
      // The SDK builds https://api.twilio.com/... URLs (api.<edge>.<region>.twilio.com with
      // TWILIO_EDGE/TWILIO_REGION); only the origin is swapped, whatever the host.
      client.request = ((opts: Parameters<typeof original>[0]) =>
        original({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, url) })) as typeof client.request;
      return client;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
