/**
 * Cost expressions: a platform file writes each compute unit's latency as a mathjs
 * expression over the layer geometry. We parse each expression ONCE, validate its
 * symbols and functions, and evaluate the parse tree with an `Ops` implementation:
 * plain numbers for the exact (hard) cost, TF.js tensors for the differentiable (soft)
 * cost the search minimises. The formula exists in one place: the platform file.
 */
import { parse, type MathNode } from 'mathjs';

/** Variables a cost expression may use: the layer geometry as one CU sees it. */
export const GEOMETRY_VARS = ['cin', 'cout', 'n', 'kx', 'ky', 'h', 'w', 'stride', 'groups'] as const;
export type GeometryVar = typeof GEOMETRY_VARS[number];

export const FUNCTIONS = ['ceil', 'floor', 'round', 'max', 'min', 'abs'] as const;
export type FunctionName = typeof FUNCTIONS[number];

export type ArithOp = '+' | '-' | '*' | '/' | '^';
export type CompareOp = '>=' | '>' | '<=' | '<' | '==' | '!=';

const ARITH: Record<string, ArithOp> = { add: '+', subtract: '-', multiply: '*', divide: '/', pow: '^' };
const COMPARE: Record<string, CompareOp> = {
  largerEq: '>=', larger: '>', smallerEq: '<=', smaller: '<', equal: '==', unequal: '!=',
};

/**
 * How to compute with values of type T (numbers or tensors) and conditions of type B.
 * `soft` tells an operation whether its operands depend on the channel count n (the only
 * quantity that is continuous during the search); geometry is always exact.
 */
export interface Ops<T, B> {
  num(v: number): T;
  variable(name: GeometryVar): T;
  neg(a: T): T;
  arith(op: ArithOp, a: T, b: T): T;
  call(fn: FunctionName, args: T[], soft: boolean): T;
  /** A comparison used as a condition (ternary, and/or): never differentiated. */
  compare(op: CompareOp, a: T, b: T): B;
  /** A comparison used as a number, e.g. the gate `[n >= 1]`. */
  indicator(op: CompareOp, a: T, b: T, soft: boolean): T;
  and(a: B, b: B): B;
  or(a: B, b: B): B;
  not(a: B): B;
  truthy(a: T): B;
  select(c: B, a: T, b: T): T;
}

/** A validation problem, located by the expression's path in the platform file. */
export class ExprError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/** Longest expression source accepted (a cost model is a line or two of arithmetic). */
const MAX_SOURCE = 4000;

/** A set of named, parsed, validated expressions that may refer to each other. */
export class ExprSet {
  private readonly nodes = new Map<string, MathNode>();
  private readonly paths = new Map<string, string>();
  private readonly softCache = new Map<string, boolean>();

  /**
   * @param defs name → [path in the file, source]. Names may be referenced by other
   *   expressions of the set (helpers); cycles are rejected.
   */
  constructor(defs: Map<string, [string, string]>) {
    for (const [name, [path, src]] of defs) {
      if ((GEOMETRY_VARS as readonly string[]).includes(name) || (FUNCTIONS as readonly string[]).includes(name)) {
        throw new ExprError(path, `the name '${name}' is reserved (geometry variable or function)`);
      }
      // Deeply nested input overflows the parser's and checker's recursion: refuse it up front.
      if (src.length > MAX_SOURCE) throw new ExprError(path, `expression of ${src.length} characters: at most ${MAX_SOURCE} are accepted`);
      let node: MathNode;
      try {
        node = parse(src);
      } catch (e) {
        const shown = src.length > 80 ? `${src.slice(0, 77)}...` : src;
        throw new ExprError(path, `cannot parse '${shown}': ${(e as Error).message}`);
      }
      this.nodes.set(name, node);
      this.paths.set(name, path);
    }
    for (const name of this.nodes.keys()) this.check(name, []);
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  source(name: string): string {
    return this.node(name).toString();
  }

  private node(name: string): MathNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no expression '${name}'`);
    return n;
  }

  private check(name: string, stack: string[]): void {
    const path = this.paths.get(name)!;
    if (stack.includes(name)) {
      throw new ExprError(path, `helpers refer to each other in a cycle: ${[...stack, name].join(' -> ')}`);
    }
    const visit = (node: MathNode): void => {
      switch (node.type) {
        case 'ConstantNode': {
          const v = (node as unknown as { value: unknown }).value;
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            throw new ExprError(path, `constant ${String(v)} is not a finite number`);
          }
          return;
        }
        case 'SymbolNode': {
          const sym = (node as unknown as { name: string }).name;
          if ((GEOMETRY_VARS as readonly string[]).includes(sym)) return;
          if (this.nodes.has(sym)) {
            this.check(sym, [...stack, name]);
            return;
          }
          const known = [...GEOMETRY_VARS, ...[...this.nodes.keys()].filter((k) => k !== name && !k.startsWith('#'))];
          throw new ExprError(path, `unknown variable '${sym}' (expected one of ${known.join(', ')})`);
        }
        case 'FunctionNode': {
          const fn = node as unknown as { fn: { name: string }; args: MathNode[] };
          if (!(FUNCTIONS as readonly string[]).includes(fn.fn.name)) {
            throw new ExprError(path, `unknown function '${fn.fn.name}' (expected one of ${FUNCTIONS.join(', ')})`);
          }
          const arity = fn.fn.name === 'max' || fn.fn.name === 'min' ? fn.args.length >= 2 : fn.args.length === 1;
          if (!arity) throw new ExprError(path, `wrong number of arguments to ${fn.fn.name}()`);
          fn.args.forEach(visit);
          return;
        }
        case 'OperatorNode': {
          const op = node as unknown as { fn: string; op: string; args: MathNode[] };
          const ok = op.fn in ARITH || op.fn in COMPARE || ['unaryMinus', 'unaryPlus', 'and', 'or', 'not'].includes(op.fn);
          if (!ok) throw new ExprError(path, `operator '${op.op}' is not supported`);
          op.args.forEach(visit);
          return;
        }
        case 'ParenthesisNode':
          visit((node as unknown as { content: MathNode }).content);
          return;
        case 'ConditionalNode': {
          const c = node as unknown as { condition: MathNode; trueExpr: MathNode; falseExpr: MathNode };
          visit(c.condition); visit(c.trueExpr); visit(c.falseExpr);
          return;
        }
        default:
          throw new ExprError(path, `'${node.toString()}' (${node.type}) is not allowed in a cost expression`);
      }
    };
    visit(this.node(name));
  }

  /** Whether expression `name` depends on the channel count n. */
  dependsOnN(name: string): boolean {
    const cached = this.softCache.get(name);
    if (cached !== undefined) return cached;
    const r = this.nodeDependsOnN(this.node(name));
    this.softCache.set(name, r);
    return r;
  }

  private nodeDependsOnN(node: MathNode): boolean {
    let found = false;
    node.traverse((x, _path, parent) => {
      if (found || x.type !== 'SymbolNode') return;
      if (parent && parent.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === x) return;
      const sym = (x as unknown as { name: string }).name;
      if (sym === 'n' || (this.nodes.has(sym) && this.dependsOnN(sym))) found = true;
    });
    return found;
  }

  /** Evaluates `name` as a number (T). Helpers are evaluated once per call. */
  value<T, B>(name: string, ops: Ops<T, B>): T {
    return new Evaluation(this, ops).value(this.node(name));
  }

  /** Evaluates `name` as a condition (B). */
  condition<T, B>(name: string, ops: Ops<T, B>): B {
    return new Evaluation(this, ops).cond(this.node(name));
  }

  /** @internal */
  nodeOf(name: string): MathNode {
    return this.node(name);
  }

  /** @internal */
  softNode(node: MathNode): boolean {
    return this.nodeDependsOnN(node);
  }
}

/** One walk over the trees with one Ops; memoises helpers per (name, context). */
class Evaluation<T, B> {
  private readonly values = new Map<string, T>();
  private readonly conds = new Map<string, B>();

  constructor(private readonly set: ExprSet, private readonly ops: Ops<T, B>) {}

  value(node: MathNode): T {
    const o = this.ops;
    switch (node.type) {
      case 'ConstantNode':
        return o.num((node as unknown as { value: number }).value);
      case 'SymbolNode': {
        const sym = (node as unknown as { name: string }).name;
        if (this.set.has(sym)) {
          let v = this.values.get(sym);
          if (v === undefined) {
            v = this.value(this.set.nodeOf(sym));
            this.values.set(sym, v);
          }
          return v;
        }
        return o.variable(sym as GeometryVar);
      }
      case 'ParenthesisNode':
        return this.value((node as unknown as { content: MathNode }).content);
      case 'FunctionNode': {
        const f = node as unknown as { fn: { name: FunctionName }; args: MathNode[] };
        return o.call(f.fn.name, f.args.map((a) => this.value(a)), this.set.softNode(node));
      }
      case 'ConditionalNode': {
        const c = node as unknown as { condition: MathNode; trueExpr: MathNode; falseExpr: MathNode };
        return o.select(this.cond(c.condition), this.value(c.trueExpr), this.value(c.falseExpr));
      }
      case 'OperatorNode': {
        const op = node as unknown as { fn: string; args: MathNode[] };
        if (op.fn === 'unaryMinus') return o.neg(this.value(op.args[0]!));
        if (op.fn === 'unaryPlus') return this.value(op.args[0]!);
        if (op.fn in ARITH) return o.arith(ARITH[op.fn]!, this.value(op.args[0]!), this.value(op.args[1]!));
        if (op.fn in COMPARE) {
          return o.indicator(COMPARE[op.fn]!, this.value(op.args[0]!), this.value(op.args[1]!), this.set.softNode(node));
        }
        // and / or / not used as a number: 1 or 0, no gradient.
        return o.select(this.cond(node), o.num(1), o.num(0));
      }
      default:
        throw new Error(`unexpected node ${node.type}`);
    }
  }

  cond(node: MathNode): B {
    const o = this.ops;
    switch (node.type) {
      case 'ParenthesisNode':
        return this.cond((node as unknown as { content: MathNode }).content);
      case 'SymbolNode': {
        const sym = (node as unknown as { name: string }).name;
        if (!this.set.has(sym)) return o.truthy(o.variable(sym as GeometryVar));
        let c = this.conds.get(sym);
        if (c === undefined) {
          c = this.cond(this.set.nodeOf(sym));
          this.conds.set(sym, c);
        }
        return c;
      }
      case 'OperatorNode': {
        const op = node as unknown as { fn: string; args: MathNode[] };
        if (op.fn === 'and') return o.and(this.cond(op.args[0]!), this.cond(op.args[1]!));
        if (op.fn === 'or') return o.or(this.cond(op.args[0]!), this.cond(op.args[1]!));
        if (op.fn === 'not') return o.not(this.cond(op.args[0]!));
        if (op.fn in COMPARE) return o.compare(COMPARE[op.fn]!, this.value(op.args[0]!), this.value(op.args[1]!));
        return o.truthy(this.value(node));
      }
      default:
        return o.truthy(this.value(node));
    }
  }
}

/** Exact evaluation on plain numbers (float64): the hard cost. */
export function numberOps(vars: Record<GeometryVar, number>): Ops<number, boolean> {
  return {
    num: (v) => v,
    variable: (name) => vars[name],
    neg: (a) => -a,
    arith: (op, a, b) => op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a ** b,
    call: (fn, args) => {
      switch (fn) {
        case 'ceil': return Math.ceil(args[0]!);
        case 'floor': return Math.floor(args[0]!);
        case 'round': return Math.round(args[0]!);
        case 'abs': return Math.abs(args[0]!);
        case 'max': return Math.max(...args);
        case 'min': return Math.min(...args);
      }
    },
    compare: (op, a, b) => compareNumbers(op, a, b),
    indicator: (op, a, b) => (compareNumbers(op, a, b) ? 1 : 0),
    and: (a, b) => a && b,
    or: (a, b) => a || b,
    not: (a) => !a,
    truthy: (a) => a !== 0,
    select: (c, a, b) => (c ? a : b),
  };
}

export function compareNumbers(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '>=': return a >= b;
    case '>': return a > b;
    case '<=': return a <= b;
    case '<': return a < b;
    case '==': return a === b;
    case '!=': return a !== b;
  }
}
