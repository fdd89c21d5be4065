import { z } from "zod";

/**
 * Zod compiles fast object parsers with `new Function` unless told not to. The webview's CSP has no
 * 'unsafe-eval': Zod would catch the failure, but Chromium still reports a CSP violation for every
 * probe. Imported first by every entry point so the setting is in place before any schema parses.
 */
z.config({ jitless: true });
