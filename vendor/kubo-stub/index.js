// The compliance suite imports kubo only to find a binary for ipfsd-ctl, which its checks never start.
export const path = () => { throw new Error('kubo stub: no IPFS binary here (the compliance checks need none)') }
export default { path }
