import { createMemoryStore } from '../../src/server/store/memory.js'
import { runStoreContract } from './_contract.js'

runStoreContract('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }))
