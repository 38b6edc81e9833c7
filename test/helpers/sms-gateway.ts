/**
 * A custom SMS gateway on 127.0.0.1 as Auth0's `sms_gateway` provider expects one: it takes
 * a JSON POST, checks the Bearer JWT with jose when given a key (a bad token is a 401, as a
 * real gateway answers), records what arrived, and can answer with any status or slowly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type JWTPayload } from 'jose';

export type GatewayBehaviour = { status: number } | { delayMs: number } | { answer: string };

export interface GatewayRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The verified JWT claims, when the gateway checks tokens and the token was good. */
  claims?: JWTPayload;
}

export interface GatewayAuthCheck {
  key: Uint8Array;
  audience: string;
  subject?: string;
}

export interface SmsGateway {
  url: string;
  /** Requests that passed the token check (all requests when no check is set). */
  received: GatewayRequest[];
  /** Why tokens were refused, in order. */
  refused: string[];
  /** How the gateway answers messages to `recipient`. */
  behave(recipient: string, behaviour: GatewayBehaviour): void;
  close(): Promise<void>;
}

let counter = 0;

export async function startSmsGateway(auth?: GatewayAuthCheck): Promise<SmsGateway> {
  const behaviours = new Map<string, GatewayBehaviour>();
  const received: GatewayRequest[] = [];
  const refused: string[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const answer = (status: number, body: string) => {
          if (res.writableEnded || res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        };
        if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/json')) {
          return answer(415, JSON.stringify({ error: 'JSON POST expected' }));
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        } catch {
          return answer(400, JSON.stringify({ error: 'bad JSON' }));
        }
        const entry: GatewayRequest = { method: req.method, path: req.url ?? '', headers: req.headers, body };
        if (auth) {
          const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
          if (!bearer) {
            refused.push('no bearer token');
            return answer(401, JSON.stringify({ error: 'unauthorized' }));
          }
          try {
            const { payload } = await jwtVerify(bearer[1] as string, auth.key, {
              algorithms: ['HS256'],
              audience: auth.audience,
              ...(auth.subject !== undefined ? { subject: auth.subject } : {}),
              requiredClaims: ['iat', 'exp'],
            });
            entry.claims = payload;
          } catch (err) {
            refused.push((err as { code?: string }).code ?? String(err));
            return answer(401, JSON.stringify({ error: 'unauthorized' }));
          }
        }
        received.push(entry);
        counter += 1;
        const ok = () => answer(200, JSON.stringify({ id: `gw-${counter}`, status: 'queued' }));
        const behaviour = behaviours.get(String(body.recipient));
        if (!behaviour) return ok();
        if ('status' in behaviour) return answer(behaviour.status, JSON.stringify({ error: 'as told' }));
        if ('answer' in behaviour) return answer(200, behaviour.answer);
        const timer = setTimeout(() => {
          timers.delete(timer);
          ok();
        }, behaviour.delayMs);
        timers.add(timer);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;

  return {
    url,
    received,
    refused,
    behave(recipient, behaviour) {
      behaviours.set(recipient, behaviour);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port that was just free, now closed. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/sms`;
}
