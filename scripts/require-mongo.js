// Fails loudly when the Mongo contract tier is asked for without a server to run it against.
if (!process.env.MONGODB_URI) {
  process.stderr.write(
    'test:mongo needs MONGODB_URI (e.g. mongodb://127.0.0.1:27017). No MongoDB server is set, so the\n' +
      'Mongo event-store contract suite cannot run. Start a server and set MONGODB_URI, then retry.\n',
  );
  process.exit(1);
}
