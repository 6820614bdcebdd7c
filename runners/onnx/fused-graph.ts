/**
 * The decoder's blocks on ONNX Runtime's contrib operators (com.microsoft), for the float32 graph that
 * forward() runs: the same computation as gpt2-graph.ts's block(), in fewer, fused kernels.
 *   MultiHeadAttention   q, k, v [B,T,D] with c_attn's bias, the past [B,H,P,Dh], causal (unidirectional):
 *                        heads split and merged, q·kᵀ/√Dh, mask, softmax, ·v and the present, in one kernel
 *   SkipLayerNormalization  LN(x + skip + bias), also giving the sum: each projection's bias, the residual
 *                        add and the next LayerNorm in one pass
 *   FastGelu             gelu_new's tanh formula with c_fc's bias
 * The float64 graph and the component graphs keep the standard operators (gpt2-graph.ts): these kernels
 * are float32 only, and the component methods expose what the fused kernels keep inside.
 *   B batch, T new tokens, P cached tokens, S = P + T, D n_embd, H heads, Dh = D / H.
 */
import { headSize } from '../validate';
import type { GraphContext } from './gpt2-graph';

/** x · W without the bias, which the fused kernel after it adds: [..., in] -> [..., out]. */
function project(c: GraphContext, x: string, prefix: string, out: string): string {
  return c.g.op('MatMul', [x, c.w(`${prefix}.weight`)], {}, out);
}

/** SkipLayerNormalization: LN_site(x + skip + bias) and the sum x + skip + bias, the next residual: [B,T,D] each. */
function addAndNorm(c: GraphContext, x: string, skip: string, bias: string, site: string, sum: string) {
  const attrs = { epsilon: { float: Math.fround(c.config.layerNormEpsilon) } };
  const inputs = [x, skip, c.w(`${site}.weight`), c.w(`${site}.bias`), c.w(bias)];
  const [normed, , , total] = c.g.contrib('SkipLayerNormalization', inputs, attrs, [`${site}.output`, '', '', sum]);
  return { normed: normed!, sum: total! };
}

/**
 * The blocks and ln_f on the embedding h [B,T,D], after the caches `pasts`: the ln_f output [B,T,D] and
 * each layer's present key and value [B,H,S,Dh].
 */
export function fusedBlocks(c: GraphContext, h: string, pasts: { key: string; value: string }[]) {
  const g = c.g;
  const { nEmbd: D, nHead: H, nLayer } = c.config;
  const presents: { key: string; value: string }[] = [];
  let residual = h;
  let normed = g.op('LayerNormalization', [h, c.w('h.0.ln_1.weight'), c.w('h.0.ln_1.bias')], { axis: { int: -1 }, epsilon: { float: Math.fround(c.config.layerNormEpsilon) } }, 'h.0.ln_1.output');
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}`;
    const qkv = project(c, normed, `${p}.attn.c_attn`, `${p}.attn.qkv`); // [B,T,3D], bias not yet added
    const [q, k, v] = g.node('Split', [qkv, g.int64([D, D, D])], { axis: { int: -1 } }, [`${p}.attn.q`, `${p}.attn.k`, `${p}.attn.v`]) as [string, string, string];
    const mhaInputs = [q, k, v, c.w(`${p}.attn.c_attn.bias`), '', '', pasts[i]!.key, pasts[i]!.value];
    const mhaAttrs = { num_heads: { int: H }, unidirectional: { int: 1 }, scale: { float: 1 / Math.sqrt(headSize(c.config)) } };
    const [context, key, value] = g.contrib('MultiHeadAttention', mhaInputs, mhaAttrs, [`${p}.attn.context`, `${p}.attn.key`, `${p}.attn.value`]);
    presents.push({ key: key!, value: value! });
    const attnOut = project(c, context!, `${p}.attn.c_proj`, `${p}.attn.output.matmul`); // [B,T,D]
    const mid = addAndNorm(c, attnOut, residual, `${p}.attn.c_proj.bias`, `${p}.ln_2`, `${p}.residual`);
    const hidden = project(c, mid.normed, `${p}.mlp.c_fc`, `${p}.mlp.hidden.matmul`); // [B,T,4D]
    const [activation] = g.contrib('FastGelu', [hidden, c.w(`${p}.mlp.c_fc.bias`)], {}, [`${p}.mlp.activation`]);
    const mlpOut = project(c, activation!, `${p}.mlp.c_proj`, `${p}.mlp.output.matmul`); // [B,T,D]
    const nextSite = i + 1 < nLayer ? `h.${i + 1}.ln_1` : 'ln_f';
    const next = addAndNorm(c, mlpOut, mid.sum, `${p}.mlp.c_proj.bias`, nextSite, `${p}.output`);
    normed = next.normed;
    residual = next.sum;
  }
  return { lnF: normed, presents };
}
