from latent_common.loading import finish, interrupts_while_loading

interrupts_while_loading("before training began; the run directory is as it was")  # torch loads next: seconds

from training.train import main  # noqa: E402

finish(main())
