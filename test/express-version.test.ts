import assert from 'node:assert/strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express = require('express');

describe('Express version under test', () => {
  it(`runs on Express ${process.env.EXPRESS_MAJOR ?? '5'}`, () => {
    // Express 5 removed app.del; Express 4 still has it.
    const isFour = typeof express.application.del === 'function';
    assert.equal(isFour ? '4' : '5', process.env.EXPRESS_MAJOR ?? '5');
  });
});
