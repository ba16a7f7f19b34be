//! The per-step exchange of data-parallel training and evaluation: each rank's loss share,
//! per-output losses and outputs (its rows of the global batch) go to every rank in one
//! all-gather, so that every rank holds the whole batch's loss and predictions and updates its
//! metrics exactly as one process would. A step without metrics only sums the losses.
//!
//! A rank's message is `[loss, output losses.., then per output: rank, dims.., values..]`; a
//! rank without rows (a last batch smaller than the number of ranks) sends rank 0 for each output.

use super::Communicator;
use kensho_core::{Error, Result, Tensor};

/// The loss, each output's loss and the outputs of one batch (or of one rank's share of it).
pub(crate) struct StepFigures {
    pub(crate) loss: f32,
    pub(crate) output_losses: Vec<f32>,
    pub(crate) outputs: Vec<Tensor>,
}

/// The whole batch's figures from each rank's share: losses summed, outputs concatenated in
/// rank order (the order of the rows). `mine.outputs` is empty on a rank without rows.
pub(crate) fn gather_figures(comm: &dyn Communicator, mine: &StepFigures, num_outputs: usize) -> Result<StepFigures> {
    let mut message = vec![mine.loss];
    message.extend(&mine.output_losses);
    for o in 0..num_outputs {
        match mine.outputs.get(o) {
            Some(t) => {
                message.push(t.ndim() as f32);
                message.extend(t.shape().iter().map(|&d| d as f32));
                message.extend(t.to_vec());
            }
            None => message.push(0.0),
        }
    }
    let pieces = comm.all_gather(message)?;
    let mut loss = 0.0;
    let mut output_losses = vec![0.0; mine.output_losses.len()];
    let mut parts: Vec<Vec<Tensor>> = vec![Vec::new(); num_outputs];
    for (rank, piece) in pieces.iter().enumerate() {
        let mut reader = Reader { rank, values: piece, at: 0 };
        loss += reader.next()?;
        for l in output_losses.iter_mut() {
            *l += reader.next()?;
        }
        for part in parts.iter_mut() {
            if let Some(t) = reader.tensor()? {
                part.push(t);
            }
        }
    }
    let outputs = parts
        .into_iter()
        .map(|p| match p.len() {
            1 => Ok(p.into_iter().next().expect("one piece")),
            0 => Err(Error::invalid("data-parallel outputs", "no rank had rows", "a non-empty batch")),
            _ => Ok(Tensor::concat(&p, 0)),
        })
        .collect::<Result<Vec<Tensor>>>()?;
    Ok(StepFigures { loss, output_losses, outputs })
}

/// The whole batch's losses from each rank's share, in one all-reduce; the outputs stay this
/// rank's (for a step whose predictions no metric reads).
pub(crate) fn sum_losses(comm: &dyn Communicator, mine: StepFigures) -> Result<StepFigures> {
    let mut message = vec![mine.loss];
    message.extend(&mine.output_losses);
    let summed = comm.all_reduce(message)?;
    Ok(StepFigures { loss: summed[0], output_losses: summed[1..].to_vec(), outputs: mine.outputs })
}

/// Reads one rank's message.
struct Reader<'a> {
    rank: usize,
    values: &'a [f32],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[f32]> {
        let piece = self.values.get(self.at..self.at + n).ok_or_else(|| {
            Error::invalid(
                format!("data-parallel message of rank {}", self.rank),
                format!("{} values", self.values.len()),
                "a message of the layout every rank sends (do all ranks run the same model?)",
            )
        })?;
        self.at += n;
        Ok(piece)
    }

    fn next(&mut self) -> Result<f32> {
        Ok(self.take(1)?[0])
    }

    fn tensor(&mut self) -> Result<Option<Tensor>> {
        let rank = self.next()? as usize;
        if rank == 0 {
            return Ok(None);
        }
        let shape: Vec<usize> = self.take(rank)?.iter().map(|&d| d as usize).collect();
        let values = self.take(shape.iter().product())?.to_vec();
        Ok(Some(Tensor::from_vec(values, &shape)?))
    }
}
