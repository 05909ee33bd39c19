/**
 * Connection-level (hop-by-hop) header names, RFC 9110 §7.6.1: they describe one connection, not
 * the message, so they are never passed on to another connection.
 */

/** Headers that only frame or manage the connection a message came over. */
export const CONNECTION_HEADERS: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']
