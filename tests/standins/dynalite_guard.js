// Preloaded into dynalite (tests/standins/dynamo.py): dynalite 3 throws from a request's 'error' handler
// (index.js: `req.on('error', function(err) { throw err })`), so one client that goes away mid-request - a run
// the fault suite kills while another of its threads is sending - ended the whole stand-in, and every later
// request of every run failed to connect. A real DynamoDB drops that one request; so does dynalite now.
'use strict'
process.on('uncaughtException', function (err) {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error('dynalite: a client went away mid-request (' + err.message + '); that request is dropped')
    return
  }
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
