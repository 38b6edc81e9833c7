/** POST /passwordless/logout: destroys the session; 204 whether or not anyone was logged in. */
import type { Request, Response } from 'express';
import { logOut } from '../session';

export function logoutRoute() {
  return async function logout(req: Request, res: Response): Promise<void> {
    await logOut(req);
    res.status(204).end();
  };
}
