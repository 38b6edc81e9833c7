/**
 * Types `req.user` for apps: after `requireAuth` it is the logged-in user, without casts.
 * Declared as `Express.User` and `user?: User | undefined`, exactly as `@types/passport`
 * declares them, so both packages' declarations merge instead of conflicting.
 */
import type { PasswordlessUser } from '../core/users';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own types are a global namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges the user's fields into Express.User
    interface User extends PasswordlessUser {}
    interface Request {
      user?: User | undefined;
    }
  }
}

export {};
