// Distinct valid phone numbers and client addresses for the benchmarks, so that no per-number
// or per-address limit trips and the rows measure the limits' counting path, not a refusal.
'use strict';
const AREAS = [415, 212, 312, 646, 213, 305, 617, 202, 206, 512, 303, 404, 503, 602, 702, 713, 808, 919, 971, 310];
/** Exchanges 200..999: with the area, 20 × 80 = 1,600 fraud-guard prefixes (6 digits: 1 + area + 2). */
const EXCHANGES = 800;

/**
 * Number i: consecutive i walk the areas, then the exchanges, then the lines, so that any
 * run of n numbers spreads over min(n, 1,600) fraud-guard prefixes (all 92,000 numbers a row
 * may use put 58 in each, under the guard's 100 unanswered sends per prefix and hour).
 */
function phoneAt(i) {
  const area = AREAS[i % AREAS.length];
  const exchange = 200 + (Math.floor(i / AREAS.length) % EXCHANGES);
  const line = Math.floor(i / AREAS.length / EXCHANGES) % 10000;
  return `+1${area}${exchange}${String(line).padStart(4, '0')}`;
}

/** A distinct client address per request (10.0.0.0/8: 16.7 million of them), sent as X-Forwarded-For. */
function addressAt(i) {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}

module.exports = { phoneAt, addressAt, AREAS };
