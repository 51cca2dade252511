/**
 * The one place meshkit patches the platform.
 *
 * js-libp2p 3.x and @chainsafe/libp2p-quic 2.x declare Node >= 22 and call
 * `Promise.withResolvers` (Node 22+), e.g. in `newStream()` and `dial(peerId)`.
 * On Node 20 those calls crash. This module installs a spec-compliant fallback
 * before libp2p is loaded (it is the first import of `libp2p-node.ts`). On Node
 * >= 22 it does nothing.
 */
type Resolvers<T> = { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void }

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve']
      let reject!: Resolvers<T>['reject']
      const promise = new this<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export {}
