// Runs in a WHATWG WebSocket client (a Chromium page, Node's own WebSocket): echo a series
// of messages through it, then ask the server to close with 4001, and report what happened
// as plain data. Plain JavaScript, so that no compiler helper leaks into the page.
async function exercise(url) {
  const socket = new WebSocket(url, ['chat', 'superchat']);
  socket.binaryType = 'arraybuffer';
  const messages = [];
  const waiters = [];
  socket.onmessage = (event) => {
    const waiter = waiters.shift();
    if (waiter === undefined) messages.push(event.data);
    else waiter(event.data);
  };
  const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiters.push(resolve)));
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const closed = new Promise((resolve) => (socket.onclose = resolve));
  const echoes = [];
  const texts = ['', 'hello', 'κόσμε 🎉 '.repeat(20), 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65536), 'json '.repeat(100_000)];
  for (const text of texts) {
    socket.send(text);
    const back = await next();
    echoes.push({ kind: 'text', length: text.length, same: back === text });
  }
  for (const size of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
    socket.send(bytes);
    const back = new Uint8Array(await next());
    echoes.push({ kind: 'binary', length: size, same: back.length === size && back.every((b, i) => b === bytes[i]) });
  }
  socket.send('close please');
  const event = await closed;
  return { extensions: socket.extensions, protocol: socket.protocol, echoes, closeCode: event.code, closeReason: event.reason, wasClean: event.wasClean };
}
