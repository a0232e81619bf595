import t from 'tap'

t.test('Promise.withResolvers is available to every test process', async (t) => {
  const { promise, resolve } = (Promise as unknown as { withResolvers: <T>() => { promise: Promise<T>, resolve: (v: T) => void } }).withResolvers<number>()
  resolve(7)
  t.equal(await promise, 7)
})
