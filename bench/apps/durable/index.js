// Benchmark app for the Durable engine's per-activity overhead: a fan-out/fan-in of N trivial
// activities (Task.all) and a chain of N trivial activities, each started over HTTP.
const { app } = require('@azure/functions');
const df = require('durable-functions');
const { echo } = require('./activities');

df.app.activity('Echo', { handler: echo });

df.app.orchestration('FanOut', function* (context) {
  const { count } = context.df.getInput();
  const tasks = [];
  for (let i = 0; i < count; i++) tasks.push(context.df.callActivity('Echo', i));
  const results = yield context.df.Task.all(tasks);
  return { count: results.length, sum: results.reduce((total, value) => total + value, 0) };
});

df.app.orchestration('Chain', function* (context) {
  const { count } = context.df.getInput();
  let value = 0;
  for (let i = 0; i < count; i++) value = (yield context.df.callActivity('Echo', value + 1));
  return { count, last: value };
});

app.http('StartOrchestration', {
  route: 'orchestrators/{name}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: async (request, context) => {
    const client = df.getClient(context);
    const text = await request.text();
    const instanceId = await client.startNew(request.params.name, { input: text ? JSON.parse(text) : undefined });
    return client.createCheckStatusResponse(request, instanceId);
  },
});
