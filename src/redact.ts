/**
 * Masking credentials. Index URLs often carry them (https://user:token@host/simple); they must
 * never reach logs, reports or error messages.
 */

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(:[^/@\s]*)?@/gi;
const SECRET_QUERY = /([?&](?:token|access_token|password|passwd|secret|key|api[_-]?key|sig|signature)=)[^&\s#]+/gi;

/** Replaces the user-info and secret-looking query values of every URL in the text with ****. */
export function redact(text: string): string {
  return text.replace(USERINFO, (_, scheme: string) => `${scheme}****@`).replace(SECRET_QUERY, '$1****');
}
