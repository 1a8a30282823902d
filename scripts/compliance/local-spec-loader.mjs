import { fileURLToPath } from 'node:url'

const spec = fileURLToPath(new URL('./pinning-service-schemas.yaml', import.meta.url))

export async function load (url, context, next) {
  const result = await next(url, context)
  if (!url.endsWith('/pinning-service-compliance/dist/src/utils/constants.js')) return result
  const source = String(result.source)
  const patched = source
    .replace(/const specLocation = `[^`]*`;/, `const specLocation = ${JSON.stringify(spec)};`)
    .replace(/const docsDir = [^;]*;/, `const docsDir = ${JSON.stringify(process.env.COMPLIANCE_OUT ?? '/tmp')};`)
  if (patched === source || !patched.includes(JSON.stringify(spec))) throw new Error('compliance hook: the suite\'s constants.js changed; update scripts/compliance/local-spec-loader.mjs')
  return { ...result, source: patched, shortCircuit: true }
}
