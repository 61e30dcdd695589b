//! The `Program` flatbuffer: verified with the `flatbuffers` crate's verifier, then every index
//! and offset the ExecuTorch runtime trusts checked against the tables and segments it points
//! into. The result is owned (plans, segments, constants, constant tensors); no generated type
//! leaves this module.

use std::ops::Range;

use flatbuffers::Vector;

use super::{Constant, Plan, ScalarType, SegmentRange};
use crate::format::flatbuf::{flatbuffer_error, program as fb, verifier_options};
use crate::format::info::{NameIndex, TensorInfo};
use crate::format::{Ctx, DType, FormatError, Rule};
use crate::size::to_u64;

/// What [`check`] returns: the owned parts of a [`PteProgram`](super::PteProgram).
pub(crate) struct Checked {
    pub(crate) version: u32,
    pub(crate) plans: Vec<Plan>,
    pub(crate) segments: Vec<SegmentRange>,
    pub(crate) constants: Vec<Constant>,
    pub(crate) named_data: Vec<(String, u32)>,
    pub(crate) tensors: Vec<TensorInfo>,
    pub(crate) index: NameIndex,
    pub(crate) cost: u64,
}

/// Index-range errors name the table, the entry and the bound.
fn out_of_range(ctx: Ctx<'_>, what: &str, index: i64, len: usize) -> FormatError {
    ctx.err(
        0,
        Rule::IndexOutOfRange,
        format!("{what} is {index}, outside the {len} entries it indexes"),
    )
}

/// `index` as a position in a table of `len` entries.
fn in_range(ctx: Ctx<'_>, what: &str, index: i64, len: usize) -> Result<usize, FormatError> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| out_of_range(ctx, what, index, len))
}

fn len_of<T>(v: Option<Vector<'_, T>>) -> usize {
    v.map_or(0, |v| v.len())
}

/// Verifies `buf` (the program's bytes) and checks what the runtime trusts. `segment_data` is
/// the absolute range the extended header gives the segments.
pub(crate) fn check(
    buf: &[u8],
    segment_data: Option<Range<u64>>,
    ctx: Ctx<'_>,
) -> Result<Checked, FormatError> {
    let program = fb::root_as_program_with_opts(&verifier_options(buf.len()), buf)
        .map_err(|e| flatbuffer_error(ctx, &e, buf.len()))?;
    let mut cost = 0u64;

    // Segments: each inside the segment data (offsets relative to the base, checked add).
    let mut segments = Vec::new();
    for (i, seg) in program.segments().iter().flatten().enumerate() {
        let (offset, len) = (seg.offset(), seg.size_());
        let Some(data) = &segment_data else {
            // Without an extended header the runtime's segment base is 0: only empty
            // segments (an empty constant segment, as the serializer writes for a program
            // without constants) can be valid, since any bytes would be the program's own.
            if len != 0 || offset > to_u64(buf.len()) {
                return Err(ctx.err(
                    8,
                    Rule::SegmentOverlap,
                    format!("segment {i} of {len} bytes at {offset} in a file without an extended header would overlap the program"),
                ));
            }
            segments.push(SegmentRange { offset, len });
            continue;
        };
        let size = data.end - data.start;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(ctx.err(
                data.start,
                Rule::OutOfFile,
                format!("segment {i} of {len} bytes at {offset} ends past the segment data of {size} bytes"),
            ));
        }
        segments.push(SegmentRange {
            offset: data.start + offset,
            len,
        });
    }
    cost += to_u64(segments.len()) * 16;

    // Constants: inline buffers (deprecated) or offsets into one segment, never both.
    let inline_constants = len_of(program.constant_buffer());
    let constant_offsets: Vec<u64> = program
        .constant_segment()
        .and_then(|s| s.offsets())
        .map(|o| o.iter().collect())
        .unwrap_or_default();
    cost += to_u64(constant_offsets.len()) * 32;
    if inline_constants > 0 && !constant_offsets.is_empty() {
        return Err(ctx.err(
            0,
            Rule::Schema,
            "the program has both an inline constant_buffer and a constant_segment",
        ));
    }
    let constant_segment = if constant_offsets.is_empty() {
        None
    } else {
        let index = program.constant_segment().map_or(0, |s| s.segment_index());
        let seg = *segments.get(index as usize).ok_or_else(|| {
            out_of_range(
                ctx,
                "constant_segment.segment_index",
                index.into(),
                segments.len(),
            )
        })?;
        for (i, &off) in constant_offsets.iter().enumerate() {
            if off > seg.len {
                return Err(ctx.err(
                    seg.offset,
                    Rule::OutOfFile,
                    format!(
                        "constant {i} at {off} is past its segment of {} bytes",
                        seg.len
                    ),
                ));
            }
        }
        Some(seg)
    };
    let mut constant_len = vec![0u64; constant_offsets.len()];

    // Mutable data: segment indices and offsets in range.
    for (m, sub) in program.mutable_data_segments().iter().flatten().enumerate() {
        let seg = *segments.get(sub.segment_index() as usize).ok_or_else(|| {
            out_of_range(
                ctx,
                &format!("mutable_data_segments[{m}].segment_index"),
                sub.segment_index().into(),
                segments.len(),
            )
        })?;
        if let Some(off) = sub.offsets().iter().flatten().find(|&o| o > seg.len) {
            return Err(ctx.err(
                seg.offset,
                Rule::OutOfFile,
                format!(
                    "mutable data {m} offset {off} is past its segment of {} bytes",
                    seg.len
                ),
            ));
        }
    }

    // Named data: segment indices in range.
    let mut named_data = Vec::new();
    for (i, nd) in program.named_data().iter().flatten().enumerate() {
        let index = nd.segment_index();
        in_range(
            ctx,
            &format!("named_data[{i}].segment_index"),
            index.into(),
            segments.len(),
        )?;
        let key = nd.key().unwrap_or_default().to_owned();
        cost += to_u64(key.len()) + 32;
        named_data.push((key, index));
    }

    let delegate_data = len_of(program.backend_delegate_data());
    let mut plans = Vec::new();
    let mut tensors: Vec<TensorInfo> = Vec::new();
    let mut index = NameIndex::default();
    for plan in program.execution_plan().iter().flatten() {
        let name = plan.name().unwrap_or_default().to_owned();
        let values = plan.values();
        let n_values = len_of(values);
        let value_index = |what: &str, i: i32| {
            in_range(ctx, &format!("plan {name:?}: {what}"), i.into(), n_values)
        };
        let inputs = indices(plan.inputs(), |i| value_index("input", i))?;
        let outputs = indices(plan.outputs(), |i| value_index("output", i))?;
        let n_operators = len_of(plan.operators());
        let mut delegates = Vec::new();
        for (d, delegate) in plan.delegates().iter().flatten().enumerate() {
            let id = delegate.id().unwrap_or_default().to_owned();
            let Some(processed) = delegate.processed() else {
                return Err(ctx.err(
                    0,
                    Rule::Schema,
                    format!("plan {name:?}: delegate {d} ({id}) has no processed data"),
                ));
            };
            let (table, len) = match processed.location() {
                fb::DataLocation::INLINE => ("backend_delegate_data", delegate_data),
                fb::DataLocation::SEGMENT => ("segments", segments.len()),
                other => {
                    return Err(ctx.err(
                        0,
                        Rule::BadValue,
                        format!(
                            "plan {name:?}: delegate {d} ({id}) has data location {}",
                            other.0
                        ),
                    ));
                }
            };
            in_range(
                ctx,
                &format!("plan {name:?}: delegate {d} ({id}) processed index into {table}"),
                processed.index().into(),
                len,
            )?;
            cost += to_u64(id.len()) + 24;
            delegates.push(id);
        }
        let mut instructions = 0u32;
        for chain in plan.chains().iter().flatten() {
            indices(chain.inputs(), |i| value_index("chain input", i))?;
            indices(chain.outputs(), |i| value_index("chain output", i))?;
            let chain_len = len_of(chain.instructions());
            for (k, instr) in chain.instructions().iter().flatten().enumerate() {
                check_instruction(
                    &instr,
                    k,
                    chain_len,
                    n_operators,
                    delegates.len(),
                    &value_index,
                    ctx,
                    &name,
                )?;
                instructions = instructions.saturating_add(1);
            }
        }
        // Values: tensors' constant indices and shapes; lists' value indices.
        for (v, value) in values.iter().flatten().enumerate() {
            match value.val_type() {
                fb::KernelTypes::Tensor => {
                    let Some(t) = value.val_as_tensor() else {
                        continue;
                    };
                    let tensor = check_tensor(&t, ctx, &name, v)?;
                    let buffer = t.data_buffer_idx();
                    let is_constant = buffer > 0 && t.allocation_info().is_none();
                    let external = t
                        .extra_tensor_info()
                        .is_some_and(|e| e.location() == fb::TensorDataLocation::EXTERNAL);
                    if is_constant && !external {
                        let n = if constant_segment.is_some() {
                            constant_offsets.len()
                        } else {
                            inline_constants
                        };
                        let slot = in_range(
                            ctx,
                            &format!("plan {name:?}: value {v} data_buffer_idx"),
                            buffer.into(),
                            n,
                        )?;
                        if let Some(seg) = constant_segment {
                            let off = constant_offsets[slot];
                            if off.checked_add(tensor.1).is_none_or(|end| end > seg.len) {
                                return Err(ctx.err(seg.offset, Rule::OutOfFile, format!("plan {name:?}: constant tensor {v} of {} bytes at {off} ends past its segment of {} bytes", tensor.1, seg.len)));
                            }
                            constant_len[slot] = constant_len[slot].max(tensor.1);
                            let fqn = t.extra_tensor_info().and_then(|e| e.fully_qualified_name());
                            let mut tname =
                                fqn.map_or_else(|| format!("{name}.values[{v}]"), str::to_owned);
                            if index
                                .get(&tname, |j| tensors[j as usize].name.as_str())
                                .is_some()
                            {
                                tname = format!("{name}.values[{v}]");
                            }
                            if index
                                .get(&tname, |j| tensors[j as usize].name.as_str())
                                .is_none()
                            {
                                let i = tensors.len();
                                cost += to_u64(tname.len()) + 8 * to_u64(tensor.0.len()) + 96;
                                tensors.push(TensorInfo::new(
                                    tname,
                                    DType::Scalar(tensor.2),
                                    tensor.0,
                                    seg.offset + off,
                                    tensor.1,
                                ));
                                let _ = index.insert(i, &tensors[i].name.clone(), |j| {
                                    tensors[j as usize].name.as_str()
                                });
                            }
                        }
                    }
                }
                fb::KernelTypes::TensorList => {
                    if let Some(l) = value.val_as_tensor_list() {
                        indices(l.items(), |i| value_index("tensor list item", i))?;
                    }
                }
                fb::KernelTypes::OptionalTensorList => {
                    if let Some(l) = value.val_as_optional_tensor_list() {
                        // -1 is "None".
                        indices(l.items(), |i| {
                            if i == -1 {
                                Ok(0)
                            } else {
                                value_index("optional tensor list item", i)
                            }
                        })?;
                    }
                }
                fb::KernelTypes::NONE => {}
                other if other.variant_name().is_none() => {
                    return Err(ctx.err(
                        0,
                        Rule::BadValue,
                        format!("plan {name:?}: value {v} has unknown type {}", other.0),
                    ));
                }
                _ => {}
            }
        }
        cost += to_u64(name.len()) + 4 * to_u64(inputs.len() + outputs.len()) + 96;
        plans.push(Plan {
            name,
            inputs,
            outputs,
            delegates,
            values: u32::try_from(n_values).unwrap_or(u32::MAX),
            operators: u32::try_from(n_operators).unwrap_or(u32::MAX),
            instructions,
        });
    }
    let constants = match constant_segment {
        Some(seg) => constant_offsets
            .iter()
            .zip(&constant_len)
            .enumerate()
            .map(|(i, (&off, &len))| Constant {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                offset: seg.offset + off,
                len,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(Checked {
        version: program.version(),
        plans,
        segments,
        constants,
        named_data,
        tensors,
        index,
        cost,
    })
}

/// Checks each index of `list` with `check`, returning them as `u32`.
fn indices(
    list: Option<Vector<'_, i32>>,
    check: impl Fn(i32) -> Result<usize, FormatError>,
) -> Result<Vec<u32>, FormatError> {
    list.iter()
        .flatten()
        .map(|i| check(i).map(|_| u32::try_from(i).unwrap_or(u32::MAX)))
        .collect()
}

/// One instruction's operator, delegate, value and jump indices.
#[allow(clippy::too_many_arguments)]
fn check_instruction(
    instr: &fb::Instruction<'_>,
    k: usize,
    chain_len: usize,
    n_operators: usize,
    n_delegates: usize,
    value_index: &dyn Fn(&str, i32) -> Result<usize, FormatError>,
    ctx: Ctx<'_>,
    plan: &str,
) -> Result<(), FormatError> {
    let what = |s: &str| format!("plan {plan:?}: instruction {k} {s}");
    let args = |a: Option<Vector<'_, i32>>| {
        indices(a, |i| value_index("instruction argument", i)).map(drop)
    };
    match instr.instr_args_type() {
        fb::InstructionArguments::KernelCall => {
            let Some(call) = instr.instr_args_as_kernel_call() else {
                return Ok(());
            };
            in_range(ctx, &what("op_index"), call.op_index().into(), n_operators)?;
            args(call.args())
        }
        fb::InstructionArguments::DelegateCall => {
            let Some(call) = instr.instr_args_as_delegate_call() else {
                return Ok(());
            };
            in_range(
                ctx,
                &what("delegate_index"),
                call.delegate_index().into(),
                n_delegates,
            )?;
            args(call.args())
        }
        fb::InstructionArguments::MoveCall => {
            let Some(call) = instr.instr_args_as_move_call() else {
                return Ok(());
            };
            value_index("move_from", call.move_from())?;
            value_index("move_to", call.move_to()).map(drop)
        }
        fb::InstructionArguments::JumpFalseCall => {
            let Some(call) = instr.instr_args_as_jump_false_call() else {
                return Ok(());
            };
            value_index("cond_value_index", call.cond_value_index())?;
            in_range(
                ctx,
                &what("destination_instruction"),
                call.destination_instruction().into(),
                chain_len,
            )
            .map(drop)
        }
        fb::InstructionArguments::FreeCall => {
            let Some(call) = instr.instr_args_as_free_call() else {
                return Ok(());
            };
            value_index("free value_index", call.value_index()).map(drop)
        }
        other => Err(ctx.err(
            0,
            Rule::BadValue,
            format!(
                "plan {plan:?}: instruction {k} has argument type {}",
                other.0
            ),
        )),
    }
}

/// A tensor value's dims (as stored, row-major), byte size and scalar type: sizes
/// non-negative, `dim_order` as long as `sizes`, size in bytes without overflow.
fn check_tensor(
    t: &fb::Tensor<'_>,
    ctx: Ctx<'_>,
    plan: &str,
    v: usize,
) -> Result<(Vec<u64>, u64, ScalarType), FormatError> {
    let st = t.scalar_type();
    let Some(scalar) = ScalarType::from_id(st.0) else {
        return Err(ctx.err(
            0,
            Rule::UnknownType,
            format!("plan {plan:?}: value {v} has unknown scalar type {}", st.0),
        ));
    };
    let sizes = t.sizes();
    let mut dims = Vec::with_capacity(len_of(sizes));
    for s in sizes.iter().flatten() {
        let Ok(d) = u64::try_from(s) else {
            return Err(ctx.err(
                0,
                Rule::BadValue,
                format!("plan {plan:?}: value {v} has size {s}"),
            ));
        };
        dims.push(d);
    }
    let order = len_of(t.dim_order());
    if order != 0 && order != dims.len() {
        return Err(ctx.err(
            0,
            Rule::Schema,
            format!(
                "plan {plan:?}: value {v} has {} sizes but a dim_order of {order}",
                dims.len()
            ),
        ));
    }
    let bytes = dims
        .iter()
        .try_fold(scalar.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            ctx.err(
                0,
                Rule::SizeOverflow,
                format!("plan {plan:?}: value {v}: byte size overflows"),
            )
        })?;
    Ok((dims, bytes, scalar))
}
