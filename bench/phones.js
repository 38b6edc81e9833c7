// Distinct valid phone numbers for the benchmarks, so that no per-number limit trips.
'use strict';
const AREAS = [415, 212, 312, 646, 213, 305, 617, 202, 206, 512, 303, 404, 503, 602, 702, 713, 808, 919, 971, 310];

function phoneAt(i) {
  const area = AREAS[i % AREAS.length];
  const line = Math.floor(i / AREAS.length) % 10000;
  // 555-01xx is reserved for fiction but valid to libphonenumber; other 555 lines too.
  return `+1${area}${String(200 + (Math.floor(i / AREAS.length / 10000) % 700)).padStart(3, '0')}${String(line).padStart(4, '0')}`;
}

module.exports = { phoneAt, AREAS };
